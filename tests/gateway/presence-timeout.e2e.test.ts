import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { EVENTS_FILE } from '../../src/server'
import { startTestServer, text, uniqueId, type TestServer } from '../support/server'
import { TestClient, waitUntil, type Frame } from '../support/ws-client'

// Heartbeat time-outs over real sockets with short real thresholds: offline after 1 s of
// silence, left after 4 s, a check every 50 ms. Clients beat every 333 ms (a third of the
// threshold) unless a test stops them. Lower bounds are asserted strictly; upper bounds allow
// SLACK for a busy machine.

const OFFLINE = 1000
const LEAVE = 4000
const TICK = 50
const BEAT = Math.floor(OFFLINE / 3)
const SLACK = 300
const ENV = {
  PARLEY_OFFLINE_AFTER_MS: String(OFFLINE),
  PARLEY_LEAVE_AFTER_MS: String(LEAVE),
  PARLEY_PRESENCE_TICK_MS: String(TICK),
  PARLEY_RATE_LIMIT: '1000/s',
}

async function givenServer(t: Test): Promise<TestServer> {
  const server = await startTestServer({ env: ENV })
  t.teardown(() => server.close())
  // The first fetch of a process loads its HTTP client, which can stall the event loop for
  // longer than the offline threshold; it is paid here, before any socket is timed.
  await fetch(`${server.httpUrl}/healthz`)
  return server
}

/** A client that beats every BEAT ms until told to stop, and notes when its socket closed. */
class Peer {
  closedAt: number | null = null
  private timer: NodeJS.Timeout | null = null
  private sent = 0

  constructor(readonly client: TestClient) {
    client.socket.once('close', () => (this.closedAt = Date.now()))
  }

  static async connect(
    t: Test,
    server: TestServer,
    role: 'user' | 'agent',
    id: string,
    seats?: number,
  ) {
    const peer = new Peer(await TestClient.connect(server.wsUrl, server.token(role, id, seats)))
    t.teardown(() => {
      peer.stopBeating()
      return peer.client.terminate()
    })
    peer.startBeating()
    return peer
  }

  startBeating(): void {
    this.timer ??= setInterval(() => this.beat(), BEAT)
  }

  stopBeating(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /**
   * Stops beating after one last heartbeat and returns when it was sent and when its answer came:
   * the server recorded the beat between the two.
   */
  async lastBeat(): Promise<{ sentAt: number; answeredAt: number }> {
    this.stopBeating()
    const sentAt = Date.now()
    this.beat()
    const sent = this.sent
    await waitUntil(() => this.answers() >= sent, 'the last heartbeat is answered', 2_000)
    return { sentAt, answeredAt: Date.now() }
  }

  private beat(): void {
    if (this.client.closed) return
    this.sent += 1
    this.client.send({ type: 'heartbeat' })
  }

  private answers(): number {
    return this.client.frames.filter((f) => f.type === 'heartbeat').length
  }
}

async function getJson(server: TestServer, path: string, as: [string, string] = ['admin', 'root']) {
  const token = server.token(as[0] as 'admin', as[1])
  const res = await fetch(`${server.httpUrl}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const presenceOf = async (server: TestServer, role: string, id: string) =>
  (await getJson(server, `/v1/presence/${role}/${id}`)).body

/** The presence stream of one person, read from the server's log file. */
async function presenceLog(server: TestServer, role: string, id: string) {
  const events = createSqliteEventStore({ path: join(server.dataDir, EVENTS_FILE) })
  try {
    return await events.readStream(`presence-${role}-${id}`)
  } finally {
    await events.close()
  }
}

const notice = (event: string, conversationId?: string) => (f: Frame) =>
  f.type === 'system' &&
  f.event === event &&
  (conversationId === undefined || f.conversationId === conversationId)

/** An agent and a user, both beating, with the user's conversation assigned to the agent. */
async function givenConversation(t: Test, server: TestServer) {
  const agentId = uniqueId('agent')
  const userId = uniqueId('user')
  const agent = await Peer.connect(t, server, 'agent', agentId, 5)
  agent.client.autoAck()
  await agent.client.roundTrip()
  const user = await Peer.connect(t, server, 'user', userId)
  user.client.autoAck()
  const sent = await user.client.sendMessage({ clientMsgId: uniqueId('m'), content: text('hi') })
  const conversationId = String(sent.conversationId)
  await user.client.next(notice('assigned', conversationId))
  return { agentId, userId, agent, user, conversationId }
}

t.test('closes a silent socket with 4000 within a tick after the offline threshold', async (t) => {
  const server = await givenServer(t)
  const id = uniqueId('user')
  const peer = await Peer.connect(t, server, 'user', id)
  await waitUntil(
    () => peer.client.frames.length >= 3 || peer.client.closed !== null,
    'a few heartbeats answered',
  )
  if (peer.client.closed) {
    const log = await presenceLog(server, 'user', id)
    t.fail(`closed while beating: ${JSON.stringify(peer.client.closed)} ${JSON.stringify(log)}`)
  }

  const last = await peer.lastBeat()
  const closed = await peer.client.waitClosed(OFFLINE + TICK + 2_000)

  t.same(closed, { code: 4000, reason: 'heartbeat timeout' })
  const closedAt = peer.closedAt ?? Date.now()
  t.ok(
    closedAt - last.sentAt >= OFFLINE,
    `not before the threshold: ${closedAt - last.sentAt} ms after the last beat was sent`,
  )
  t.ok(
    closedAt - last.answeredAt <= OFFLINE + TICK + SLACK,
    `within a tick of it: ${closedAt - last.answeredAt} ms after the last beat was answered`,
  )

  await waitUntil(
    async () => (await presenceOf(server, 'user', id)).status === 'offline',
    'the user is offline',
  )
  const history = await presenceLog(server, 'user', id)
  const closes = history.filter((e) => e.type === 'ConnectionClosed')
  t.equal(closes.length, 1, 'one ConnectionClosed')
  t.match(closes[0].data, { reason: 'heartbeat_timeout' })
  t.equal(history.filter((e) => e.type === 'WentOffline').length, 1, 'one WentOffline')
})

t.test('never closes a client that beats every third of the threshold', async (t) => {
  const server = await givenServer(t)
  const id = uniqueId('user')
  const peer = await Peer.connect(t, server, 'user', id)
  const openedAt = Date.now()

  // Four offline thresholds: the socket would have been closed three times over if silent.
  const beats: number[] = []
  await waitUntil(
    async () => {
      const doc = await presenceOf(server, 'user', id)
      beats.push(Number(doc.lastHeartbeatAt))
      return Date.now() - openedAt >= 4 * OFFLINE
    },
    'four offline thresholds pass',
    4 * OFFLINE + 2_000,
  )

  t.equal(peer.client.closed, null, 'still open')
  t.match(await presenceOf(server, 'user', id), { status: 'online', connections: 1 })
  t.ok(new Set(beats).size > 3, 'the last heartbeat time keeps moving')
  const history = await presenceLog(server, 'user', id)
  t.same(
    history.map((e) => e.type).filter((type) => type !== 'HeartbeatRecorded'),
    ['ConnectionOpened', 'WentOnline'],
    'no time-out, no offline',
  )
  const recorded = history.filter((e) => e.type === 'HeartbeatRecorded')
  t.ok(recorded.length >= (4 * OFFLINE) / BEAT - 3, `heartbeats are recorded (${recorded.length})`)
  t.match(recorded[0].data, { who: { role: 'user', id }, connectionId: String })
})

t.test('a quick reconnect is not undone by the old socket', async (t) => {
  t.test('when the old socket times out', async (t) => {
    const server = await givenServer(t)
    const { user, userId, conversationId, agent } = await givenConversation(t, server)

    // The old socket stops beating but stays open; a new one opens and beats.
    const last = await user.lastBeat()
    const fresh = await Peer.connect(t, server, 'user', userId)
    const closed = await user.client.waitClosed(OFFLINE + TICK + 2_000)
    t.equal(closed.code, 4000, 'the old socket times out')
    t.ok((user.closedAt ?? 0) - last.sentAt >= OFFLINE)

    await waitUntil(
      async () => (await presenceOf(server, 'user', userId)).connections === 1,
      'the old connection is recorded as closed',
    )
    t.match(await presenceOf(server, 'user', userId), { status: 'online', connections: 1 })
    // Past the leave threshold of the old socket's last beat: still nothing happens.
    await waitUntil(
      () => Date.now() >= last.answeredAt + LEAVE + 4 * TICK,
      'the old leave time passes',
      LEAVE + 2_000,
    )
    t.equal(fresh.client.closed, null, 'the new socket lives')
    t.match(await presenceOf(server, 'user', userId), { status: 'online', connections: 1 })
    const history = (await presenceLog(server, 'user', userId)).map((e) => e.type)
    t.notOk(history.includes('WentOffline'), 'never offline')
    t.notOk(history.includes('PersonLeft'), 'never left')
    const conversation = await getJson(server, `/v1/conversations/${conversationId}`)
    t.match(conversation.body, { status: 'open' }, 'the conversation is open')
    t.notOk(agent.client.frames.some(notice('closed', conversationId)), 'the agent saw no close')
  })

  t.test('when the old socket closes after the new one opened', async (t) => {
    const server = await givenServer(t)
    const { user, userId, conversationId } = await givenConversation(t, server)

    const fresh = await Peer.connect(t, server, 'user', userId)
    await fresh.client.roundTrip()
    user.stopBeating()
    await user.client.close()
    await waitUntil(
      async () => (await presenceOf(server, 'user', userId)).connections === 1,
      'the old connection is recorded as closed',
    )

    t.match(await presenceOf(server, 'user', userId), { status: 'online' })
    const history = (await presenceLog(server, 'user', userId)).map((e) => e.type)
    t.notOk(history.includes('WentOffline'), 'never offline')
    const conversation = await getJson(server, `/v1/conversations/${conversationId}`)
    t.match(conversation.body, { status: 'open' })
  })
})

t.test(
  'a frozen client that cannot answer the close still goes offline, then leaves',
  async (t) => {
    const server = await givenServer(t)
    const { user, userId, conversationId, agent } = await givenConversation(t, server)

    // The client stops reading altogether: the close handshake cannot finish.
    const last = await user.lastBeat()
    user.client.socket.pause()
    await waitUntil(
      async () => (await presenceOf(server, 'user', userId)).status === 'offline',
      'the frozen user is offline',
      OFFLINE + TICK + 2_000,
    )
    t.ok(Date.now() - last.sentAt >= OFFLINE, 'not before the threshold')

    const closedFrame = await agent.client.next(notice('closed', conversationId), LEAVE + 2_000)
    t.equal(closedFrame.reason, 'user_left', 'the conversation ends when the user has left')
    const at = agent.client.receivedAt[agent.client.frames.indexOf(closedFrame)]
    t.ok(at - last.sentAt >= LEAVE, `not before the leave threshold (${at - last.sentAt} ms)`)
  },
)

t.test(
  'never closes a client that beats on time while its earlier frames are still handled',
  async (t) => {
    const server = await givenServer(t)
    const peer = await Peer.connect(t, server, 'user', uniqueId('user'))

    // Messages in bursts: the socket's frames are handled one by one, each stored to disk, for
    // longer than the offline threshold; the client keeps beating meanwhile. Bursts follow each
    // other until that is so, however fast the store is (bounded in rounds).
    const startedAt = Date.now()
    for (let round = 0; round < 20 && Date.now() - startedAt <= OFFLINE + BEAT; round++) {
      const burst = Array.from({ length: 400 }, (_, i) => uniqueId(`burst-${round}-${i}`))
      for (const clientMsgId of burst) {
        peer.client.send({ type: 'send', clientMsgId, content: text(clientMsgId) })
      }
      const last = burst[burst.length - 1]
      const answered = await peer.client
        .next((f) => (f.type === 'sent' || f.type === 'error') && f.clientMsgId === last, 30_000)
        .then(() => true)
        .catch(() => false)
      if (!answered) break
    }
    const took = Date.now() - startedAt

    t.ok(took > OFFLINE || peer.client.closed !== null, `the burst took ${took} ms`)
    t.equal(peer.client.closed, null, 'the client beat every third of the threshold throughout')
  },
)
