import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { DEFAULT_DISPATCH_SWEEP_MS as DISPATCH_SWEEP_MS } from '../../src/projections/dispatch/dispatcher'
import { EVENTS_FILE } from '../../src/server'
import { rmSync } from 'node:fs'
import { makeDataDir, startTestServer, text, uniqueId, type TestServer } from '../support/server'
import { TestClient, waitUntil, type Frame } from '../support/ws-client'

// Agents coming and going, over real sockets with short real thresholds: offline after 1 s of
// silence, left after 4 s, a check every 50 ms. Clients beat every 333 ms unless a test
// stops them.

const OFFLINE = 1000
const LEAVE = 4000
const TICK = 50
const BEAT = Math.floor(OFFLINE / 3)
const ENV = {
  PARLEY_OFFLINE_AFTER_MS: String(OFFLINE),
  PARLEY_LEAVE_AFTER_MS: String(LEAVE),
  PARLEY_PRESENCE_TICK_MS: String(TICK),
  PARLEY_RATE_LIMIT: '1000/s',
}

async function givenServer(
  t: Test,
  env: Record<string, string> = ENV,
  dataDir?: string,
): Promise<TestServer> {
  const server = await startTestServer({ env, dataDir })
  t.teardown(() => server.close())
  // The first fetch of a process loads its HTTP client, which can stall the event loop for
  // longer than the offline threshold; it is paid here, before any socket is timed.
  await fetch(`${server.httpUrl}/healthz`)
  return server
}

/** A client that beats every BEAT ms until told to stop. */
class Peer {
  private timer: NodeJS.Timeout | null = null

  constructor(
    readonly client: TestClient,
    readonly id: string,
  ) {}

  static async connect(t: Test, server: TestServer, role: 'user' | 'agent', seats?: number) {
    const id = uniqueId(role)
    const peer = new Peer(await TestClient.connect(server.wsUrl, server.token(role, id, seats)), id)
    t.teardown(() => {
      peer.stopBeating()
      return peer.client.terminate()
    })
    peer.timer = setInterval(() => {
      if (!peer.client.closed) peer.client.send({ type: 'heartbeat' })
    }, BEAT)
    peer.client.autoAck()
    return peer
  }

  stopBeating(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  async say(
    body: string,
    conversationId?: string,
  ): Promise<Frame & { messageId: string; seq: number }> {
    const sent = await this.client.sendMessage({
      clientMsgId: uniqueId('m'),
      conversationId,
      content: text(body),
    })
    if (sent.type !== 'sent') throw new Error(`send refused: ${JSON.stringify(sent)}`)
    return sent as Frame & { messageId: string; seq: number }
  }
}

async function getJson(server: TestServer, path: string) {
  const token = server.token('admin', 'root')
  const res = await fetch(`${server.httpUrl}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  return (await res.json()) as Record<string, unknown>
}

async function logOf(server: TestServer, stream: string) {
  const events = createSqliteEventStore({ path: join(server.dataDir, EVENTS_FILE) })
  try {
    return await events.readStream(stream)
  } finally {
    await events.close()
  }
}

const notice = (event: string, conversationId: string) => (f: Frame) =>
  f.type === 'system' && f.event === event && f.conversationId === conversationId

async function givenAgent(t: Test, server: TestServer, seats: number) {
  const agent = await Peer.connect(t, server, 'agent', seats)
  await waitUntil(async () => {
    const desk = await getJson(server, `/v1/agents/${agent.id}`)
    return desk.seats === seats && desk.status === 'online'
  }, `agent ${agent.id} online with ${seats} seats`)
  return agent
}

t.test('an agent leaving hands the conversation to another agent, losing nothing', async (t) => {
  const server = await givenServer(t)
  const first = await givenAgent(t, server, 5)
  const user = await Peer.connect(t, server, 'user')
  const m1 = await user.say('m1')
  const conversationId = String(m1.conversationId)
  await user.client.next(notice('assigned', conversationId))
  await first.client.next((f) => f.type === 'message' && f.messageId === m1.messageId)

  // The first agent stops acknowledging, gets m2 and m3, then freezes.
  first.client.stopAutoAck()
  const unacked = [await user.say('m2'), await user.say('m3')]
  for (const m of unacked)
    await first.client.next((f) => f.type === 'message' && f.messageId === m.messageId)
  first.stopBeating()
  await first.client.waitClosed(OFFLINE + TICK + 2_000)

  // Another agent with one free seat is online; the user writes on while the first is offline.
  const second = await givenAgent(t, server, 1)
  unacked.push(await user.say('m4 while the agent is away'))
  t.match(await getJson(server, `/v1/conversations/${conversationId}`), {
    status: 'open',
    agentId: first.id,
  })

  // The first agent leaves: agent_left, then assigned to the second.
  const left = await user.client.next(notice('agent_left', conversationId), LEAVE + 2_000)
  t.equal(left.previousAgentId, first.id)
  unacked.push(await user.say('m5 right after agent_left'))
  // At once, or at the dispatcher's periodic pass (a bug, see presence-monitor.int.test.ts).
  const assigned = await user.client.next(
    notice('assigned', conversationId),
    DISPATCH_SWEEP_MS + 2_000,
  )
  t.equal(assigned.agentId, second.id, 'assigned to the agent with a free seat')
  t.ok(
    user.client.frames.indexOf(left) < user.client.frames.indexOf(assigned),
    'agent_left comes first',
  )

  // The second agent gets every unacknowledged message once, in seq order.
  await second.client.next(notice('assigned', conversationId))
  for (const m of unacked)
    await second.client.next((f) => f.type === 'message' && f.messageId === m.messageId)
  await second.client.roundTrip()
  const received = second.client.frames.filter((f) => f.type === 'message')
  t.same(
    received.map((f) => f.messageId),
    unacked.map((m) => m.messageId),
    'm2 to m5, once each, nothing else (m1 was acknowledged by the first agent)',
  )
  t.same(
    received.map((f) => Number(f.seq)),
    unacked.map((m) => Number(m.seq)),
    'in seq order, with the seqs the user was given',
  )
  const pushes = (await logOf(server, `conversation-${conversationId}`)).filter(
    (e) =>
      e.type === 'MessagePushed' &&
      (e.data as { recipient: { id: string } }).recipient.id === second.id,
  )
  t.same(
    pushes.map((e) => (e.data as { attempt: number }).attempt),
    pushes.map(() => 1),
    'each push to the second agent was a first push',
  )

  const desk = await getJson(server, `/v1/agents/${first.id}`)
  t.match(desk, { openConversations: 0, status: 'left' }, "the first agent's seat is released")
  t.match(await getJson(server, `/v1/agents/${second.id}`), {
    openConversations: 1,
    status: 'online',
  })
})

t.test(
  'an agent without a live connection gets no new conversation but keeps theirs',
  async (t) => {
    const server = await givenServer(t)
    const agent = await givenAgent(t, server, 5)
    const u1 = await Peer.connect(t, server, 'user')
    const c1 = String((await u1.say('first')).conversationId)
    await u1.client.next(notice('assigned', c1))

    // The agent closes the page: offline at once, the conversation stays theirs.
    agent.stopBeating()
    await agent.client.close()
    await waitUntil(
      async () => (await getJson(server, `/v1/agents/${agent.id}`)).status === 'offline',
      'the agent is offline',
    )
    const u2 = await Peer.connect(t, server, 'user')
    const c2 = String((await u2.say('second')).conversationId)
    const queued = await u2.client.next(notice('queued', c2))
    t.equal(queued.position, 1, 'the new conversation waits although the agent has four free seats')
    t.match(await getJson(server, `/v1/conversations/${c1}`), { status: 'open', agentId: agent.id })
    t.match(await getJson(server, `/v1/agents/${agent.id}`), {
      openConversations: 1,
      status: 'offline',
    })

    // At the leave threshold the kept conversation goes back to the queue, at its head.
    await u1.client.next(notice('agent_left', c1), LEAVE + 2_000)
    t.match(await getJson(server, `/v1/agents/${agent.id}`), {
      openConversations: 0,
      status: 'left',
    })
    const next = await givenAgent(t, server, 1)
    const assigned = await u1.client.next(notice('assigned', c1))
    t.equal(assigned.agentId, next.id, 'the requeued conversation is served first')
    t.match(await getJson(server, `/v1/conversations/${c2}`), { status: 'queued' })
  },
)

t.test(
  'an agent whose socket is gone gets no conversation from a heartbeat handled late',
  async (t) => {
    // Default thresholds: the phantom connection would live for 30 s.
    const server = await givenServer(t, { PARLEY_RATE_LIMIT: '1000/s' })
    const agent = await givenAgent(t, server, 5)
    const u1 = await Peer.connect(t, server, 'user')
    const c1 = String((await u1.say('hello')).conversationId)
    await agent.client.next(notice('assigned', c1))

    // A few answers, a heartbeat behind them, and the network drops.
    for (let i = 0; i < 3; i++) {
      agent.client.send({
        type: 'send',
        clientMsgId: uniqueId('a'),
        conversationId: c1,
        content: text(`a${i}`),
      })
    }
    agent.client.send({ type: 'heartbeat' })
    agent.stopBeating()
    await agent.client.terminate()
    await waitUntil(async () => {
      const log = await logOf(server, `conversation-${c1}`)
      return log.filter((e) => e.type === 'MessageSent').length === 4
    }, 'the three answers are stored')
    await waitUntil(async () => {
      const log = await logOf(server, `presence-agent-${agent.id}`)
      return log.some((e) => e.type === 'ConnectionClosed')
    }, 'the close is recorded')

    const u2 = await Peer.connect(t, server, 'user')
    const c2 = String((await u2.say('anyone?')).conversationId)
    const first = await u2.client.next((f) => notice('queued', c2)(f) || notice('assigned', c2)(f))
    t.equal(first.event, 'queued', 'the gone agent is not given the new conversation')
    const history = await logOf(server, `presence-agent-${agent.id}`)
    const closedAt = history.findIndex((e) => e.type === 'ConnectionClosed')
    t.same(
      history.slice(closedAt + 1).map((e) => e.type),
      ['WentOffline'],
      'nothing after the close: no phantom re-opening',
    )
  },
)

t.test('a graceful restart leaves no agent online who has not come back', async (t) => {
  const dataDir = makeDataDir()
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  // Default thresholds: a connection left open in the log counts as live for 30 s.
  const env = { PARLEY_RATE_LIMIT: '1000/s' }
  const first = await startTestServer({ env, dataDir })
  const agent = await givenAgent(t, first, 5)
  agent.stopBeating()
  await first.close()

  const history = (await logOf(first, `presence-agent-${agent.id}`)).map((e) => e.type)
  t.same(history.slice(-2), ['ConnectionClosed', 'WentOffline'], 'the shutdown is recorded')

  const second = await givenServer(t, env, dataDir)
  const user = await Peer.connect(t, second, 'user')
  const conversationId = String((await user.say('anyone?')).conversationId)
  const answer = await user.client.next(
    (f) => notice('queued', conversationId)(f) || notice('assigned', conversationId)(f),
  )
  t.equal(answer.event, 'queued', 'no conversation for an agent who is not connected')
  t.match(await getJson(second, `/v1/agents/${agent.id}`), { status: 'offline' })
})
