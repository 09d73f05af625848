import { rmSync } from 'node:fs'
import t, { type Test } from 'tap'
import { createEsdbEventStore } from '../../src/infra/eventstore/esdb/esdb-event-store'
import type { EventStore, RecordedEvent } from '../../src/infra/eventstore/port'
import { startEsdbDouble } from '../support/esdb-double/double'
import { startMongoDouble } from '../support/mongo-double/server'
import {
  TEST_SECRET,
  fetchMessages,
  makeDataDir,
  text,
  uniqueId,
  type HistoryEntry,
} from '../support/server'
import { spawnServer, type SpawnedServer } from '../support/spawn-server'
import { TestClient, isPush, waitUntil, type Frame } from '../support/ws-client'

/**
 * Two Parley processes sharing one EventStoreDB and one MongoDB (the protocol doubles, served
 * from this test process), as several gateway nodes behind a load balancer would. Each scenario
 * puts the people involved on different nodes and checks what the system as a whole did.
 */

// Two child servers start through ts-node on a shared two-core machine.
t.setTimeout(300_000)

const HEARTBEAT_EVERY_MS = 500
const env = {
  PARLEY_AUTH_SECRET: TEST_SECRET,
  PARLEY_RATE_LIMIT: '1000/s,burst=1000',
  PARLEY_ACK_TIMEOUT_MS: '700',
  PARLEY_ACK_MAX_ATTEMPTS: '3',
  PARLEY_OFFLINE_AFTER_MS: '3000',
  PARLEY_LEAVE_AFTER_MS: '6000',
  PARLEY_PRESENCE_TICK_MS: '200',
  PARLEY_LOG_LEVEL: 'warn',
}

interface Cluster {
  a: SpawnedServer
  b: SpawnedServer
  /** The shared log, read through the EventStoreDB adapter like any node reads it. */
  log: EventStore
}

async function startCluster(t: Test): Promise<Cluster> {
  const esdb = await startEsdbDouble()
  const mongo = await startMongoDouble()
  const shared = { ...env, PARLEY_EVENTSTORE_URL: esdb.url, PARLEY_MONGODB_URL: mongo.url }
  const dataDirs = [makeDataDir(), makeDataDir()]
  const start = (nodeId: number): Promise<SpawnedServer> =>
    spawnServer({
      dataDir: dataDirs[nodeId - 1],
      env: { ...shared, PARLEY_NODE_ID: String(nodeId) },
    })
  const [a, b] = await Promise.all([start(1), start(2)])
  const log = createEsdbEventStore({ connectionString: esdb.url })
  // One teardown, so the order is certain: what the nodes logged if anything failed, then the
  // nodes, then the stores they were using.
  t.teardown(async () => {
    if (!t.passing()) {
      for (const [name, node] of [
        ['A', a],
        ['B', b],
      ] as const) {
        t.comment(`node ${name} output:\n${node.output().slice(-4000)}`)
      }
    }
    await Promise.all([a.stop(), b.stop()])
    await log.close()
    await mongo.close()
    await esdb.close()
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
  })
  return { a, b, log }
}

/** This test's open sockets per person, so a teardown knows when a person's last one closed. */
const openSockets = new Map<string, number>()

/** A client that beats well inside the offline threshold and acknowledges every push. */
async function connect(
  t: Test,
  server: SpawnedServer,
  role: 'user' | 'agent' | 'admin',
  id: string,
  options: { seats?: number; autoAck?: boolean } = {},
): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl, server.token(role, id, options.seats))
  const beat = setInterval(() => {
    if (client.socket.readyState === client.socket.OPEN) client.send({ type: 'heartbeat' })
  }, HEARTBEAT_EVERY_MS)
  if (options.autoAck !== false) client.autoAck()
  t.teardown(async () => {
    clearInterval(beat)
    await client.close()
    // An agent is still offered conversations until the disconnect reaches the presence view:
    // the next test must not find this one available.
    const left = (openSockets.get(id) ?? 1) - 1
    openSockets.set(id, left)
    if (role === 'agent' && left === 0) await waitUntilOffline(server, id)
  })
  openSockets.set(id, (openSockets.get(id) ?? 0) + 1)
  // The connection is recorded (and the agent available) once the first answer comes back.
  await client.roundTrip()
  return client
}

/**
 * Ends a test's conversations through an admin socket, so that no later test's agent is handed
 * one of them (the conversations of an agent who left are requeued), and awaits each close in
 * the shared log.
 */
async function endConversations(
  t: Test,
  cluster: { a: SpawnedServer; log: EventStore },
  ids: Iterable<string>,
): Promise<void> {
  const admin = await connect(t, cluster.a, 'admin', uniqueId('ops'))
  for (const conversationId of ids) {
    admin.send({ type: 'close', conversationId })
    const closed = async () =>
      (await streamEvents(cluster.log, `conversation-${conversationId}`)).some(
        (e) => e.type === 'ConversationClosed',
      )
    await waitUntil(closed, `conversation ${conversationId} closed`, 15_000)
  }
}

async function waitUntilOffline(server: SpawnedServer, agentId: string): Promise<void> {
  const url = `${server.httpUrl}/v1/presence/agent/${agentId}`
  const headers = { authorization: `Bearer ${server.token('admin', 'ops')}` }
  const offline = async () => {
    const response = await fetch(url, { headers })
    const body = (await response.json()) as { status?: string }
    return response.status === 200 && body.status !== 'online'
  }
  await waitUntil(offline, `agent ${agentId} offline in the presence view`, 15_000)
}

/**
 * A conversation's history from one node. A 503 `unavailable` (the node's read models more than
 * 2 s behind, which a loaded machine running two nodes and both doubles can reach) is what the
 * protocol tells clients to retry, so it is retried here too, for up to 15 s.
 */
async function historyOf(node: SpawnedServer, userId: string, conversationId: string) {
  let history: HistoryEntry[] = []
  await waitUntil(
    async () => {
      try {
        history = await fetchMessages(node, { role: 'user', id: userId }, conversationId)
        return true
      } catch (err) {
        if (String(err).includes(': 503 ')) return false
        throw err
      }
    },
    `the history of ${conversationId}`,
    15_000,
  )
  return history
}

async function streamEvents(log: EventStore, stream: string): Promise<RecordedEvent[]> {
  return log.readStream(stream)
}

const assignedIn = (conversationId: string) => (f: Frame) =>
  f.type === 'system' && f.event === 'assigned' && f.conversationId === conversationId

t.test('two gateway nodes sharing EventStoreDB and MongoDB', async (t) => {
  const cluster = await startCluster(t)
  const { a, b, log } = cluster

  t.test('a message sent through one node reaches a recipient on the other', async (t) => {
    const agentId = uniqueId('agent')
    const userId = uniqueId('user')
    const agent = await connect(t, b, 'agent', agentId, { seats: 2 })
    const user = await connect(t, a, 'user', userId)

    const sent = await user.sendMessage({ clientMsgId: uniqueId('k'), content: text('hi') })
    t.equal(sent.type, 'sent', 'node A stores the message')
    const conversationId = String(sent.conversationId)
    const pushed = await agent.next((f) => f.type === 'message' && f.messageId === sent.messageId)
    t.match(pushed, { seq: sent.seq, content: text('hi') }, 'node B pushes it to the agent')
    await user.next(assignedIn(conversationId))

    const reply = await agent.sendMessage({
      clientMsgId: uniqueId('k'),
      conversationId,
      content: text('hello from node B'),
    })
    t.equal(reply.type, 'sent')
    await user.next((f) => f.type === 'message' && f.messageId === reply.messageId)

    const history = await historyOf(a, userId, conversationId)
    const again = await historyOf(b, userId, conversationId)
    t.same(
      history.map((m) => m.messageId),
      again.map((m) => m.messageId),
      'both nodes serve the same history from the shared read models',
    )
    await endConversations(t, cluster, [conversationId])
  })

  t.test('the same clientMsgId sent through both nodes at once is one message', async (t) => {
    const agentId = uniqueId('agent')
    const userId = uniqueId('user')
    await connect(t, a, 'agent', agentId, { seats: 2 })
    const onA = await connect(t, a, 'user', userId)
    const first = await onA.sendMessage({ clientMsgId: uniqueId('k'), content: text('open') })
    const conversationId = String(first.conversationId)
    // Assigned to this test's agent, so that no later test's agent is handed it.
    await onA.next(assignedIn(conversationId))
    const onB = await connect(t, b, 'user', userId)

    const clientMsgId = uniqueId('twice')
    const frame = { clientMsgId, conversationId, content: text('once, please') }
    const [viaA, viaB] = await Promise.all([onA.sendMessage(frame), onB.sendMessage(frame)])

    t.equal(viaA.type, 'sent')
    t.equal(viaB.type, 'sent')
    t.equal(viaA.messageId, viaB.messageId, 'both nodes answer with the same messageId')
    t.equal(viaA.seq, viaB.seq, 'and the same seq')
    const stored = (await streamEvents(log, `conversation-${conversationId}`)).filter(
      (e) =>
        e.type === 'MessageSent' &&
        (e.data as { clientMsgId?: string }).clientMsgId === clientMsgId,
    )
    t.equal(stored.length, 1, 'one MessageSent is in the log')
    await endConversations(t, cluster, [conversationId])
  })

  t.test('an agent seat is never booked twice by two nodes', async (t) => {
    const agentId = uniqueId('agent')
    const agentOnA = await connect(t, a, 'agent', agentId, { seats: 1 })
    const agentOnB = await connect(t, b, 'agent', agentId, { seats: 1 })
    const users = await Promise.all(
      [a, b, a, b].map((node) => connect(t, node, 'user', uniqueId('user'))),
    )

    // Four customers write at once, two through each node, to an agent with one seat.
    const opened = await Promise.all(
      users.map((u) => u.sendMessage({ clientMsgId: uniqueId('k'), content: text('help') })),
    )
    const conversations = new Set(opened.map((f) => String(f.conversationId)))
    const assignedTo = (frames: readonly Frame[]) =>
      frames.filter((f) => f.type === 'system' && f.event === 'assigned')
    const firstAssigned = await Promise.race(
      users.map((u) => u.next((f) => f.type === 'system' && f.event === 'assigned', 15_000)),
    )
    const assigned = String(firstAssigned.conversationId)
    t.equal(
      firstAssigned.agentId,
      agentId,
      `assigned to this agent: ${JSON.stringify(firstAssigned)}`,
    )
    await agentOnA.next(assignedIn(assigned), 15_000)
    await agentOnB.next(assignedIn(assigned), 15_000)

    // Folding the agent's stream in order, the seats held never exceed the one there is, and
    // the one held is this conversation's; none of the other three was assigned.
    const desk = await streamEvents(log, `agent-${agentId}`)
    let held = 0
    let most = 0
    for (const event of desk) {
      if (event.type === 'SeatTaken') held += 1
      if (event.type === 'SeatReleased') held -= 1
      most = Math.max(most, held)
    }
    t.equal(most, 1, 'no more than one seat was ever held')
    t.equal(held, 1, 'one seat is held now')
    const holders = desk
      .filter((e) => e.type === 'SeatTaken')
      .map((e) => (e.data as { conversationId: string }).conversationId)
    t.ok(
      holders.every((id) => id === assigned || !conversations.has(id)),
      'held by it alone',
    )
    t.same(
      users.flatMap((u) => assignedTo(u.frames)).map((f) => f.conversationId),
      [assigned],
      'one customer of the four was told assigned',
    )

    await endConversations(t, cluster, conversations)
  })

  t.test('an unacknowledged push is re-pushed by the node holding the socket', async (t) => {
    const agentId = uniqueId('agent')
    const userId = uniqueId('user')
    const agent = await connect(t, b, 'agent', agentId, { seats: 2, autoAck: false })
    const user = await connect(t, a, 'user', userId)

    const sent = await user.sendMessage({ clientMsgId: uniqueId('k'), content: text('ping') })
    const messageId = String(sent.messageId)
    await waitUntil(
      () => agent.pushesOf(messageId).length >= 2,
      'a second push of the unacknowledged message on node B',
      15_000,
    )
    const pushes = agent.pushesOf(messageId)
    t.ok(pushes.every(isPush), 'each is a push frame')
    t.same(new Set(pushes.map((p) => p.seq)).size, 1, 'every push carries the same seq')

    agent.ack([messageId])
    const recorded = (await streamEvents(log, `conversation-${String(sent.conversationId)}`))
      .filter((e) => e.type === 'MessagePushed')
      .filter((e) => (e.data as { messageId?: string }).messageId === messageId)
    t.same(
      recorded.map((e) => (e.data as { attempt?: number }).attempt),
      recorded.map((_, i) => i + 1),
      'each push is recorded once, attempts counting up with no repeat',
    )
    await endConversations(t, cluster, [String(sent.conversationId)])
  })

  t.test('a customer who left is acted on once, whichever node sees it', async (t) => {
    const agentId = uniqueId('agent')
    const userId = uniqueId('user')
    const agent = await connect(t, b, 'agent', agentId, { seats: 2 })
    const user = await connect(t, a, 'user', userId)
    const sent = await user.sendMessage({ clientMsgId: uniqueId('k'), content: text('bye soon') })
    const conversationId = String(sent.conversationId)
    await agent.next(assignedIn(conversationId), 15_000)

    // The customer goes away; both nodes' presence monitors see the silence in the shared log.
    await user.close()
    const closed = await agent.next(
      (f) => f.type === 'system' && f.event === 'closed' && f.conversationId === conversationId,
      20_000,
    )
    t.equal(closed.reason, 'user_left', 'the agent is told the customer left')

    const presence = await streamEvents(log, `presence-user-${userId}`)
    t.equal(presence.filter((e) => e.type === 'PersonLeft').length, 1, 'one PersonLeft')
    const conversation = await streamEvents(log, `conversation-${conversationId}`)
    t.equal(
      conversation.filter((e) => e.type === 'ConversationClosed').length,
      1,
      'the conversation is closed once',
    )
    const releasesOf = async () =>
      (await streamEvents(log, `agent-${agentId}`)).filter(
        (e) =>
          e.type === 'SeatReleased' &&
          (e.data as { conversationId: string }).conversationId === conversationId,
      )
    await waitUntil(async () => (await releasesOf()).length > 0, 'the seat released', 10_000)
    const releases = await releasesOf()
    t.equal(releases.length, 1, "the conversation's seat is released once")
  })
})
