import { rmSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { EVENTS_FILE } from '../../src/server'
import { makeDataDir, startTestServer, text, uniqueId, type TestServer } from '../support/server'
import { TestClient, waitUntil, type Frame } from '../support/ws-client'

// Leaving, over real sockets with short real thresholds: offline after 1 s of silence, left
// after 4 s, a check every 50 ms. Clients beat every 333 ms unless a test stops them. Lower
// bounds are strict; upper bounds allow SLACK for a busy machine.

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

async function givenServer(t: Test, dataDir?: string): Promise<TestServer> {
  const server = await startTestServer({ env: ENV, dataDir })
  t.teardown(() => server.close())
  // The first fetch of a process loads its HTTP client, which can stall the event loop for
  // longer than the offline threshold; it is paid here, before any socket is timed.
  await fetch(`${server.httpUrl}/healthz`)
  return server
}

/** A client that beats every BEAT ms until told to stop. */
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

  /** Stops after one last heartbeat; the server recorded it between `sentAt` and `answeredAt`. */
  async lastBeat(): Promise<{ sentAt: number; answeredAt: number }> {
    this.stopBeating()
    const sentAt = Date.now()
    this.beat()
    const sent = this.sent
    await waitUntil(() => this.answers() >= sent, 'the last heartbeat is answered', 2_000)
    return { sentAt, answeredAt: Date.now() }
  }

  /** When a frame arrived. */
  arrivalOf(frame: Frame): number {
    return this.client.receivedAt[this.client.frames.indexOf(frame)]
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

async function getJson(server: TestServer, path: string) {
  const token = server.token('admin', 'root')
  const res = await fetch(`${server.httpUrl}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  return (await res.json()) as Record<string, unknown>
}

const conversation = (server: TestServer, id: string) => getJson(server, `/v1/conversations/${id}`)

async function logOf(dataDir: string, stream: string) {
  const events = createSqliteEventStore({ path: join(dataDir, EVENTS_FILE) })
  try {
    return await events.readStream(stream)
  } finally {
    await events.close()
  }
}

const notice = (event: string, conversationId: string) => (f: Frame) =>
  f.type === 'system' && f.event === event && f.conversationId === conversationId

/** Waits until the wall clock reaches `at`: a deadline the scenario itself sets. */
const reach = (at: number, what: string) =>
  waitUntil(() => Date.now() >= at, what, Math.max(0, at - Date.now()) + 2_000)

async function givenAgent(t: Test, server: TestServer, seats: number, id = uniqueId('agent')) {
  const agent = await Peer.connect(t, server, 'agent', id, seats)
  agent.client.autoAck()
  await waitUntil(async () => {
    const desk = await getJson(server, `/v1/agents/${id}`)
    return desk.seats === seats && desk.status === 'online'
  }, `agent ${id} online with ${seats} seats`)
  return { id, agent }
}

async function givenUser(t: Test, server: TestServer, body: string, id = uniqueId('user')) {
  const user = await Peer.connect(t, server, 'user', id)
  user.client.autoAck()
  const sent = await user.client.sendMessage({ clientMsgId: uniqueId('m'), content: text(body) })
  if (sent.type !== 'sent') throw new Error(`send refused: ${JSON.stringify(sent)}`)
  return { id, user, conversationId: String(sent.conversationId) }
}

t.test('a silent customer frees the only seat at the leave threshold, not before', async (t) => {
  const server = await givenServer(t)
  const { id: agentId, agent } = await givenAgent(t, server, 1)
  const first = await givenUser(t, server, 'first')
  await first.user.client.next(notice('assigned', first.conversationId))

  const second = await givenUser(t, server, 'second, one')
  await second.user.client.next(notice('queued', second.conversationId))
  await second.user.client.sendMessage({ clientMsgId: uniqueId('m'), content: text('second, two') })

  // The first customer goes silent: offline at 1 s, the conversation and seat stay.
  const last = await first.user.lastBeat()
  const closed = await first.user.client.waitClosed(OFFLINE + TICK + 2_000)
  t.equal(closed.code, 4000)
  t.match(await conversation(server, first.conversationId), { status: 'open', agentId })
  t.match(
    await conversation(server, second.conversationId),
    { status: 'queued' },
    'still waiting at offline',
  )

  // At the leave threshold the seat passes to the second customer.
  const assigned = await second.user.client.next(
    notice('assigned', second.conversationId),
    LEAVE + 2_000,
  )
  const after = second.user.arrivalOf(assigned) - last.sentAt
  t.ok(after >= LEAVE, `assigned only after the leave threshold (${after} ms after the last beat)`)
  t.ok(
    second.user.arrivalOf(assigned) - last.answeredAt <= LEAVE + TICK + SLACK,
    'and soon after it',
  )
  t.equal(assigned.agentId, agentId)

  const closedFrame = await agent.client.next(notice('closed', first.conversationId))
  t.equal(closedFrame.reason, 'user_left', 'the agent is told the customer left')
  const messages = [
    await agent.client.next(
      (f) => f.type === 'message' && f.conversationId === second.conversationId,
    ),
    await agent.client.next(
      (f) => f.type === 'message' && f.conversationId === second.conversationId,
    ),
  ]
  t.same(
    messages.map((f) => (f.content as { text: string }).text),
    ['second, one', 'second, two'],
    "the agent gets the waiting customer's messages in order",
  )
  t.ok(Number(messages[0].seq) < Number(messages[1].seq))
  t.match(await conversation(server, first.conversationId), {
    status: 'closed',
    closeReason: 'user_left',
  })
})

t.test('reconnecting at 90 % of the leave window cancels the leave', async (t) => {
  const server = await givenServer(t)
  const { id: agentId, agent } = await givenAgent(t, server, 2)
  const { id: userId, user, conversationId } = await givenUser(t, server, 'hello')
  await user.client.next(notice('assigned', conversationId))

  // The user gets an answer but never acknowledges it, then goes silent.
  user.client.stopAutoAck()
  const answer = await agent.client.sendMessage({
    clientMsgId: uniqueId('a'),
    conversationId,
    content: text('hi!'),
  })
  await user.client.next((f) => f.type === 'message' && f.messageId === answer.messageId)
  const last = await user.lastBeat()
  await user.client.waitClosed(OFFLINE + TICK + 2_000)
  const whileAway = await agent.client.sendMessage({
    clientMsgId: uniqueId('a'),
    conversationId,
    content: text('still there?'),
  })

  await reach(last.sentAt + 0.9 * LEAVE, '90 % of the leave window')
  const back = await Peer.connect(t, server, 'user', userId)
  const again = [
    await back.client.next((f) => f.type === 'message' && f.messageId === answer.messageId),
    await back.client.next((f) => f.type === 'message' && f.messageId === whileAway.messageId),
  ]
  t.same(
    again.map((f) => f.seq),
    [answer.seq, whileAway.seq],
    'the unacknowledged answer and the one sent meanwhile are pushed again, same seqs',
  )

  await reach(last.answeredAt + LEAVE + 4 * TICK + SLACK, 'the old leave time has passed')
  t.match(await conversation(server, conversationId), { status: 'open', agentId })
  t.match(await getJson(server, `/v1/presence/user/${userId}`), {
    status: 'online',
    connections: 1,
  })
  const history = (await logOf(server.dataDir, `presence-user-${userId}`)).map((e) => e.type)
  t.notOk(history.includes('PersonLeft'), 'no departure recorded')
  t.notOk(agent.client.frames.some(notice('closed', conversationId)), 'the agent saw no close')
})

t.test('a restart between offline and left still ends the session on time', async (t) => {
  const dataDir = makeDataDir()
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const agentId = uniqueId('agent')
  const first = await startTestServer({ env: ENV, dataDir })
  let firstClosed = false
  t.teardown(async () => {
    if (!firstClosed) await first.close()
  })
  await fetch(`${first.httpUrl}/healthz`)

  await givenAgent(t, first, 3, agentId)
  const { id: userId, user, conversationId } = await givenUser(t, first, 'hello')
  await user.client.next(notice('assigned', conversationId))
  const last = await user.lastBeat()
  await user.client.waitClosed(OFFLINE + TICK + 2_000)
  // The close frame can overtake the stored disconnect by a moment: await it, bounded.
  await waitUntil(
    async () => (await getJson(first, `/v1/presence/user/${userId}`)).status === 'offline',
    'the user shown offline after the close',
    2_000,
  )

  // The server restarts on the same files while the user is offline.
  firstClosed = true
  const downAt = Date.now()
  await first.close()
  const second = await givenServer(t, dataDir)
  // Silence during the outage is not counted (the monitor adds the outage to the window), so
  // the close may come up to the length of the restart later than the threshold.
  const restartMs = Date.now() - downAt
  t.ok(Date.now() - last.answeredAt < LEAVE - 200, `the restart took ${restartMs} ms`)
  const { agent } = await givenAgent(t, second, 3, agentId)

  const closedFrame = await agent.client.next(notice('closed', conversationId), LEAVE + 2_000)
  t.equal(closedFrame.reason, 'user_left')
  const closedEvent = (await logOf(dataDir, `conversation-${conversationId}`)).find(
    (e) => e.type === 'ConversationClosed',
  )
  const at = (closedEvent?.data as { at: number }).at
  t.ok(at - last.sentAt >= LEAVE, `not before the leave threshold (${at - last.sentAt} ms)`)
  t.ok(
    at - last.answeredAt <= LEAVE + restartMs + TICK + SLACK,
    `on time (${at - last.answeredAt} ms, restart ${restartMs} ms)`,
  )
  t.match(await conversation(second, conversationId), {
    status: 'closed',
    closeReason: 'user_left',
  })
  t.match(
    await getJson(second, `/v1/agents/${agentId}`),
    { openConversations: 0 },
    'the seat is free',
  )
})
