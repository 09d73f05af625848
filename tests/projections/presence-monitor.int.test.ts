import t, { type Test } from 'tap'
import type { Content } from '../../src/domain/content/schema'
import type { ConversationEvent } from '../../src/domain/conversation/events'
import type { PresenceEvent } from '../../src/domain/presence/events'
import {
  DEFAULT_LEAVE_AFTER_MS,
  DEFAULT_OFFLINE_AFTER_MS,
  DEFAULT_PRESENCE_TICK_MS,
  recommendedHeartbeatMs,
} from '../../src/domain/presence/thresholds'
import type { PushFrame, ServerFrame } from '../../src/domain/protocol/frames'
import { ConcurrencyError } from '../../src/domain/shared/errors'
import { Role, type Participant } from '../../src/domain/shared/participant'
import { conversationStream, presenceStream } from '../../src/domain/shared/streams'
import { ConnectionRegistry, type Connection } from '../../src/gateway/connections/registry'
import { ConversationCommands, type IdSource } from '../../src/infra/commands/conversation-commands'
import { DeskCommands } from '../../src/infra/commands/desk-commands'
import { PresenceCommands } from '../../src/infra/commands/presence-commands'
import { createInMemoryEventStore } from '../../src/infra/eventstore/memory'
import type { EventStore, PruneOptions } from '../../src/infra/eventstore/port'
import type { ReadModelStore } from '../../src/infra/readmodel/port'
import { createSqliteReadModelStore } from '../../src/infra/readmodel/sqlite'
import { DeliveryManager } from '../../src/projections/delivery/delivery-manager'
import { DEFAULT_DISPATCH_SWEEP_MS, Dispatcher } from '../../src/projections/dispatch/dispatcher'
import { presenceAvailability } from '../../src/projections/presence/agent-availability'
import {
  ALIVE_CHECKPOINT,
  HEARTBEAT_PRUNE_EVERY_MS,
  HEARTBEAT_TIMEOUT_CLOSE,
  MONITOR_CHECKPOINT,
  PresenceMonitor,
} from '../../src/projections/presence/presence-monitor'
import { startProjection, type ProjectionRunner } from '../../src/projections/projection'
import { allProjections } from '../../src/projections/readmodels'
import { PRESENCE, type PresenceDoc } from '../../src/projections/readmodels/presence'
import { VirtualClock } from './support/virtual-time'

// The presence monitor with everything it drives (presence, conversations, desks, dispatcher,
// delivery) on a virtual clock, with the production thresholds: offline after 30 s of silence,
// left after 120 s, a check every second. A "node" is one process's command handlers and
// process managers; several nodes share one log and one read-model store.

const OFFLINE = DEFAULT_OFFLINE_AFTER_MS
const LEAVE = DEFAULT_LEAVE_AFTER_MS
const TICK = DEFAULT_PRESENCE_TICK_MS
const BEAT = recommendedHeartbeatMs(OFFLINE)
const thresholds = { offlineAfterMs: OFFLINE, leaveAfterMs: LEAVE }
/** Long enough that no timed re-push happens in a test: only first and reconnect pushes. */
const policy = { ackTimeoutMs: 3_600_000, maxAttempts: 5 }
/** The world's clock starts here; monitors tick at T0 + k * TICK. */
const T0 = 10_000_000

const user = (id: string): Participant => ({ role: Role.User, id })
const agent = (id: string): Participant => ({ role: Role.Agent, id })
const text = (body: string): Content => ({ format: 'text', text: body })

// ---------------------------------------------------------------------------------------------
// The world: one log, one read-model store, the read-model runners, one clock.

interface World {
  clock: VirtualClock
  events: EventStore
  readModels: ReadModelStore
  /** Resolves once every read model has applied the whole log. */
  caughtUp(): Promise<void>
}

async function givenWorld(t: Test, events?: EventStore): Promise<World> {
  const clock = new VirtualClock(T0)
  const store = events ?? createInMemoryEventStore({ now: clock.now })
  const readModels = createSqliteReadModelStore({ path: ':memory:' })
  await readModels.ensureCollections(allProjections.flatMap((p) => p.collections))
  const runners: ProjectionRunner[] = allProjections.map((projection) =>
    startProjection({ events: store, readModels, projection }),
  )
  t.teardown(async () => {
    await Promise.all(runners.map((r) => r.stop()))
    await store.close()
    await readModels.close()
  })
  await Promise.all(runners.map((r) => r.ready))

  return {
    clock,
    events: store,
    readModels,
    async caughtUp() {
      const head = await store.headPosition()
      await Promise.all(runners.map((r) => r.waitForPosition(head)))
    },
  }
}

/** Ids of one width per node, so two nodes never hand out the same id. */
function idsFor(nodeId: number): IdSource {
  let n = (nodeId + 1) * 1_000_000
  return { next: () => String(++n) }
}

// ---------------------------------------------------------------------------------------------
// A node and its fake sockets.

/** A socket as the monitor and the delivery manager see it, driven by the test. */
class FakeSocket implements Connection {
  readonly frames: { at: number; frame: ServerFrame }[] = []
  lastBeatAt: number
  closed: { code: number; reason: string; at: number } | null = null
  private acking: ((f: PushFrame) => boolean) | null = () => true

  constructor(
    private readonly node: Node,
    readonly participant: Participant,
    readonly id: string,
  ) {
    this.lastBeatAt = node.world.clock.now()
  }

  send(frame: ServerFrame): void {
    if (this.closed) return
    this.frames.push({ at: this.node.world.clock.now(), frame })
    if (isPush(frame) && this.acking?.(frame)) {
      void this.node.conversations.acknowledge(this.participant, frame.conversationId, [
        frame.messageId,
      ])
    }
  }

  /** What the server does: remove, then record the end with the reason the code stands for. */
  close(code: number, reason: string): void {
    if (this.closed) return
    this.closed = { code, reason, at: this.node.world.clock.now() }
    this.node.registry.remove(this)
    const why = code === HEARTBEAT_TIMEOUT_CLOSE.code ? 'heartbeat_timeout' : 'closed'
    this.node.pending.push(this.node.presence.disconnect(this.participant, this.id, why))
  }

  /** A server shutdown: close and record the disconnect at once, as the session does. */
  async shutdown(): Promise<void> {
    if (this.closed) return
    this.closed = { code: 1001, reason: 'server shutting down', at: this.node.world.clock.now() }
    this.node.registry.remove(this)
    await this.node.presence.disconnect(this.participant, this.id, 'server_shutdown')
  }

  /** A heartbeat frame, handled as the session handles it. */
  async beat(): Promise<void> {
    this.lastBeatAt = this.node.world.clock.now()
    await this.node.presence.beat(this.participant, this.id)
  }

  /** Acknowledges only the pushes `filter` accepts (none with `null`). */
  ackOnly(filter: ((f: PushFrame) => boolean) | null): void {
    this.acking = filter
  }

  pushes(): { at: number; frame: PushFrame }[] {
    return this.frames.flatMap(({ at, frame }) => (isPush(frame) ? [{ at, frame }] : []))
  }
}

const isPush = (frame: ServerFrame): frame is PushFrame =>
  frame.type === 'message' || frame.type === 'system'

interface NodeOptions {
  nodeId?: number
  /** Replaces the node's event store (a wrapper around the world's). */
  events?: EventStore
  /** Adjusts the node's commands before its managers start (to inject failures). */
  tweak?: (node: Node) => void
}

/** One process: its own command handlers, registry, dispatcher, delivery and presence monitor. */
class Node {
  readonly registry = new ConnectionRegistry()
  readonly presence: PresenceCommands
  readonly conversations: ConversationCommands
  readonly desks: DeskCommands
  readonly monitor: PresenceMonitor
  readonly dispatcher: Dispatcher
  readonly delivery: DeliveryManager
  /** Disconnects in flight, so a test can settle them. */
  readonly pending: Promise<unknown>[] = []
  private sockets = 0
  private stopped = false

  constructor(
    readonly world: World,
    readonly nodeId: number,
    events: EventStore,
  ) {
    const { clock, readModels } = world
    this.presence = new PresenceCommands(events, clock, thresholds, nodeId)
    this.conversations = new ConversationCommands(events, idsFor(nodeId), clock, policy)
    this.desks = new DeskCommands(events, clock, 5)
    this.dispatcher = new Dispatcher({
      events,
      readModels,
      waitForReadModels: () => world.caughtUp(),
      conversations: this.conversations,
      desks: this.desks,
      agents: presenceAvailability(readModels),
      defaultSeats: 5,
      scheduler: clock.scheduler,
    })
    this.delivery = new DeliveryManager({
      events,
      readModels,
      commands: this.conversations,
      channels: this.registry,
      policy,
      scheduler: clock.scheduler,
    })
    this.monitor = new PresenceMonitor({
      events,
      readModels,
      presence: this.presence,
      conversations: this.conversations,
      desks: this.desks,
      connections: () => this.registry.all(),
      thresholds,
      tickMs: TICK,
      scheduler: clock.scheduler,
    })
  }

  async start(): Promise<void> {
    await this.delivery.start()
    await this.dispatcher.start()
    await this.monitor.start()
  }

  /** A process that ends: its managers stop and its sockets vanish without a trace in the log. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const socket of this.registry.all()) this.registry.remove(socket)
    await this.monitor.stop()
    await this.dispatcher.stop()
    await this.delivery.stop()
  }

  /** Opens a socket as the session does: registered, recorded, caught up on pending pushes. */
  async connect(who: Participant, seats?: number): Promise<FakeSocket> {
    this.sockets += 1
    const socket = new FakeSocket(this, who, `n${this.nodeId}-s${this.sockets}`)
    this.registry.add(socket)
    await this.presence.connect(who, socket.id)
    await this.delivery.connected(who, socket)
    if (who.role === Role.Agent && seats !== undefined) await this.desks.setSeats(who.id, seats)
    await this.world.clock.settle()
    return socket
  }

  /** A user's message; opens their conversation on the first one. */
  async say(from: Participant, body: string, conversationId?: string) {
    return this.conversations.send(from, {
      clientMsgId: `${from.id}-${body}`,
      conversationId,
      content: text(body),
    })
  }
}

async function startNode(t: Test, world: World, options: NodeOptions = {}): Promise<Node> {
  const node = new Node(world, options.nodeId ?? 0, options.events ?? world.events)
  options.tweak?.(node)
  await node.start()
  t.teardown(() => node.stop())
  await world.clock.settle()
  return node
}

// ---------------------------------------------------------------------------------------------
// Time and reading helpers.

/**
 * Moves the clock to `to`, with each of `sockets` still open beating every BEAT ms (a client
 * following the recommended interval); other sockets stay silent.
 */
async function runBeating(world: World, to: number, sockets: FakeSocket[]): Promise<void> {
  const { clock } = world
  while (clock.now() < to) {
    await clock.advanceTo(Math.min(to, clock.now() + BEAT))
    for (const socket of sockets) if (!socket.closed) await socket.beat()
  }
  await clock.settle()
}

async function presenceEvents(world: World, who: Participant): Promise<PresenceEvent[]> {
  const recorded = await world.events.readStream(presenceStream(who))
  return recorded.map((e) => ({ type: e.type, data: e.data }) as PresenceEvent)
}

async function conversationEvents(world: World, id: string): Promise<ConversationEvent[]> {
  const recorded = await world.events.readStream(conversationStream(id))
  return recorded.map((e) => ({ type: e.type, data: e.data }) as ConversationEvent)
}

async function presenceDoc(world: World, who: Participant): Promise<PresenceDoc | undefined> {
  await world.caughtUp()
  return (await world.readModels.get(PRESENCE, `${who.role}:${who.id}`)) as PresenceDoc | undefined
}

async function statusOf(node: Node, conversationId: string) {
  const state = await node.conversations.read(conversationId)
  return { status: state.status, agentId: state.agentId, closeReason: state.closeReason }
}

const typesOf = (events: { type: string }[]) => events.map((e) => e.type)
const countOf = (events: { type: string }[], type: string) =>
  events.filter((e) => e.type === type).length

/** An agent online with seats, then a user whose first message is assigned to that agent. */
async function givenAssigned(node: Node, userId: string, agentId: string, seats = 5) {
  const agentSocket = await node.connect(agent(agentId), seats)
  const userSocket = await node.connect(user(userId))
  const first = await node.say(user(userId), 'hello')
  await node.world.clock.until('the conversation is assigned', async () => {
    return (await statusOf(node, first.conversationId)).status === 'open'
  })
  return { agentSocket, userSocket, conversationId: first.conversationId, first }
}

// ---------------------------------------------------------------------------------------------

t.test(
  'closes a silent socket with 4000 within one tick after the offline threshold',
  async (t) => {
    const world = await givenWorld(t)
    const node = await startNode(t, world)
    await world.clock.advanceTo(T0 + 300)
    const socket = await node.connect(user('u1'))
    const lastBeat = socket.lastBeatAt
    await world.clock.advanceTo(T0 + 9_000)
    await socket.beat()
    const beatAt = socket.lastBeatAt

    await world.clock.advanceTo(beatAt + OFFLINE - 1)
    t.equal(socket.closed, null, 'still open one millisecond before the threshold')

    await world.clock.advanceTo(beatAt + OFFLINE + TICK)
    t.ok(socket.closed, 'closed by one tick after the threshold')
    t.match(socket.closed, { code: 4000, reason: 'heartbeat timeout' })
    const after = (socket.closed?.at ?? 0) - beatAt
    t.ok(after >= OFFLINE, `not before the threshold (${after} ms after the last beat)`)
    t.ok(after <= OFFLINE + TICK, `within a tick of it (${after} ms after the last beat)`)
    t.ok(lastBeat < beatAt, 'measured from the last beat, not the opening')

    await Promise.all(node.pending)
    const history = await presenceEvents(world, user('u1'))
    t.same(
      typesOf(history),
      ['ConnectionOpened', 'WentOnline', 'HeartbeatRecorded', 'ConnectionClosed', 'WentOffline'],
      'one time-out and one offline, although the socket close and the sweep both saw it',
    )
    t.match(history[3].data, { connectionId: socket.id, reason: 'heartbeat_timeout' })
    t.match(history[4].data, { lastHeartbeatAt: beatAt })
    t.match(await presenceDoc(world, user('u1')), { status: 'offline', connections: 0 })
  },
)

t.test('never closes a socket that beats every third of the offline threshold', async (t) => {
  const world = await givenWorld(t)
  const node = await startNode(t, world)
  const socket = await node.connect(user('u1'))

  await runBeating(world, T0 + 10 * OFFLINE, [socket])

  t.equal(socket.closed, null, 'open after ten offline thresholds')
  const history = await presenceEvents(world, user('u1'))
  t.same(
    typesOf(history).filter((type) => type !== 'HeartbeatRecorded'),
    ['ConnectionOpened', 'WentOnline'],
  )
  t.equal(countOf(history, 'HeartbeatRecorded'), (10 * OFFLINE) / BEAT, 'every beat recorded')
  t.match(await presenceDoc(world, user('u1')), {
    status: 'online',
    connections: 1,
    lastHeartbeatAt: T0 + 10 * OFFLINE,
  })
})

t.test("closes a silent user's conversation at the leave threshold, not at offline", async (t) => {
  const world = await givenWorld(t)
  const node = await startNode(t, world)
  const { agentSocket, userSocket, conversationId } = await givenAssigned(node, 'u1', 'a1', 1)
  const lastBeat = userSocket.lastBeatAt

  // A second customer waits for the only seat, beating all along.
  const u2 = await node.connect(user('u2'))
  const waiting = await node.say(user('u2'), 'anyone?')
  await node.say(user('u2'), 'still here')

  // Offline: the socket goes, the conversation and the seat stay.
  await runBeating(world, lastBeat + OFFLINE + TICK, [agentSocket, u2])
  t.match(userSocket.closed, { code: 4000 })
  t.match(await presenceDoc(world, user('u1')), { status: 'offline' })
  t.match(await statusOf(node, conversationId), { status: 'open', agentId: 'a1' })
  t.match(await statusOf(node, waiting.conversationId), { status: 'queued' })

  // One millisecond before leaving: nothing yet.
  await runBeating(world, lastBeat + LEAVE - 1, [agentSocket, u2])
  t.match(
    await statusOf(node, conversationId),
    { status: 'open' },
    'open just before the threshold',
  )
  t.match(await statusOf(node, waiting.conversationId), { status: 'queued' })

  // Left: closed user_left, the seat goes to the waiting customer.
  await runBeating(world, lastBeat + LEAVE + TICK, [agentSocket, u2])
  await world.clock.until('the waiting conversation is assigned', async () => {
    return (await statusOf(node, waiting.conversationId)).status === 'open'
  })
  const history = await conversationEvents(world, conversationId)
  const closed = history.filter((e) => e.type === 'ConversationClosed')
  t.equal(closed.length, 1, 'closed once')
  t.match(closed[0].data, { reason: 'user_left', closedBy: null, agentId: 'a1' })
  const closedAt = (closed[0].data as { at: number }).at
  t.ok(closedAt >= lastBeat + LEAVE, 'not before the leave threshold')
  t.ok(closedAt <= lastBeat + LEAVE + TICK, 'within a tick of it')

  const left = (await presenceEvents(world, user('u1'))).filter((e) => e.type === 'PersonLeft')
  t.equal(left.length, 1, 'one departure')
  t.match(left[0].data, { lastHeartbeatAt: lastBeat })

  const frames = agentSocket.pushes().map(({ frame }) => frame)
  const closedFrame = frames.find((f) => f.type === 'system' && f.event === 'closed')
  t.match(closedFrame, { conversationId, reason: 'user_left' }, 'the agent is told why')
  const theirs = frames.filter((f) => f.conversationId === waiting.conversationId)
  t.same(
    theirs.map((f) => (f.type === 'message' ? (f.content as { text: string }).text : f.event)),
    ['anyone?', 'still here', 'assigned'],
    "then gets the waiting customer's messages, in order, and the assignment",
  )
  t.same((await node.desks.read('a1')).conversations, new Set([waiting.conversationId]))
})

t.test('a reconnect at 90 % of the leave window cancels the leave', async (t) => {
  const world = await givenWorld(t)
  const node = await startNode(t, world)
  const { agentSocket, userSocket, conversationId } = await givenAssigned(node, 'u1', 'a1')
  // The user reads the agent's first answer but never acknowledges it, then goes silent.
  userSocket.ackOnly(null)
  const unread = await node.say(agent('a1'), 'how can I help?', conversationId)
  await world.clock.settle()
  t.equal(userSocket.pushes().filter((p) => p.frame.messageId === unread.messageId).length, 1)
  const lastBeat = userSocket.lastBeatAt

  await runBeating(world, lastBeat + OFFLINE + TICK, [agentSocket])
  t.match(userSocket.closed, { code: 4000 })
  const whileAway = await node.say(agent('a1'), 'are you there?', conversationId)

  await runBeating(world, lastBeat + 0.9 * LEAVE, [agentSocket])
  const back = await node.connect(user('u1'))
  t.match(await presenceDoc(world, user('u1')), { status: 'online', connections: 1 })
  const resent = back.pushes().map(({ frame }) => frame.messageId)
  t.same(
    resent,
    [unread.messageId, whileAway.messageId],
    'what is pending is pushed again, in order',
  )

  await runBeating(world, lastBeat + 3 * LEAVE, [agentSocket, back])
  t.match(await statusOf(node, conversationId), { status: 'open', agentId: 'a1' })
  t.notOk(
    typesOf(await presenceEvents(world, user('u1'))).includes('PersonLeft'),
    'no departure is recorded',
  )
  t.match(await presenceDoc(world, user('u1')), { status: 'online' })
})

t.test("a quick reconnect is not undone by the old socket's time-out or late close", async (t) => {
  t.test('the old socket times out after the new one opened', async (t) => {
    const world = await givenWorld(t)
    const node = await startNode(t, world)
    const { agentSocket, userSocket: old, conversationId } = await givenAssigned(node, 'u1', 'a1')

    // The old socket stalls (a sleeping laptop) and the client opens a new one.
    await runBeating(world, old.lastBeatAt + OFFLINE / 2, [agentSocket])
    const fresh = await node.connect(user('u1'))
    await runBeating(world, old.lastBeatAt + OFFLINE + TICK, [agentSocket, fresh])
    t.match(old.closed, { code: 4000 }, 'the stalled socket is closed')
    t.equal(fresh.closed, null, 'the new one is not')

    await runBeating(world, old.lastBeatAt + 2 * LEAVE, [agentSocket, fresh])
    const history = await presenceEvents(world, user('u1'))
    t.same(
      typesOf(history).filter((type) => type !== 'HeartbeatRecorded'),
      ['ConnectionOpened', 'WentOnline', 'ConnectionOpened', 'ConnectionClosed'],
      'the time-out is recorded, and nothing else changes',
    )
    t.match(await presenceDoc(world, user('u1')), { status: 'online', connections: 1 })
    t.match(await statusOf(node, conversationId), { status: 'open' })
  })

  t.test('the old socket closes late, after the new one opened', async (t) => {
    const world = await givenWorld(t)
    const node = await startNode(t, world)
    const { agentSocket, userSocket: old, conversationId } = await givenAssigned(node, 'u1', 'a1')

    const fresh = await node.connect(user('u1'))
    await runBeating(world, T0 + OFFLINE / 3, [agentSocket, fresh])
    old.close(1000, 'bye')
    await Promise.all(node.pending)

    await runBeating(world, T0 + 2 * LEAVE, [agentSocket, fresh])
    const history = await presenceEvents(world, user('u1'))
    t.notOk(typesOf(history).includes('WentOffline'), 'never offline')
    t.match(await presenceDoc(world, user('u1')), { status: 'online', connections: 1 })
    t.match(await statusOf(node, conversationId), { status: 'open' })
  })
})

t.test('a restart between offline and left still closes the session on time', async (t) => {
  t.test(
    'the leave is rebuilt from the read model, its window widened by the outage',
    async (t) => {
      const world = await givenWorld(t)
      const first = await startNode(t, world, { nodeId: 1 })
      const { agentSocket, userSocket, conversationId } = await givenAssigned(first, 'u1', 'a1')
      const lastBeat = userSocket.lastBeatAt
      await runBeating(world, lastBeat + OFFLINE + TICK, [agentSocket])
      t.match(await presenceDoc(world, user('u1')), { status: 'offline' })

      // The process ends; a new one starts on the same stores 20 s later.
      await first.stop()
      const aliveAt = Number(await world.readModels.checkpoint(ALIVE_CHECKPOINT))
      await world.clock.advanceTo(lastBeat + OFFLINE + 20_000)
      const second = await startNode(t, world, { nodeId: 2 })
      const agentAgain = await second.connect(agent('a1'))
      // The monitor's documented rule: nobody's silence counts while no monitor ran.
      const outage = world.clock.now() - aliveAt - TICK
      t.ok(outage > 15_000, `an outage of ${outage} ms`)

      await runBeating(world, lastBeat + LEAVE + outage - 1, [agentAgain])
      t.match(await statusOf(second, conversationId), { status: 'open' }, 'not closed early')
      await runBeating(world, lastBeat + LEAVE + outage + TICK, [agentAgain])
      await world.clock.until('the conversation closes', async () => {
        return (await statusOf(second, conversationId)).status === 'closed'
      })

      const closed = (await conversationEvents(world, conversationId)).filter(
        (e) => e.type === 'ConversationClosed',
      )
      t.equal(closed.length, 1)
      t.match(closed[0].data, { reason: 'user_left' })
      const at = (closed[0].data as { at: number }).at - lastBeat
      t.ok(at >= LEAVE + outage && at <= LEAVE + outage + TICK, `closed on time (${at} ms)`)
      t.not(await world.readModels.checkpoint(MONITOR_CHECKPOINT), undefined, 'checkpointed')
    },
  )

  t.test('a quick restart closes the session within a tick of the threshold', async (t) => {
    const world = await givenWorld(t)
    const first = await startNode(t, world, { nodeId: 1 })
    const { agentSocket, userSocket, conversationId } = await givenAssigned(first, 'u1', 'a1')
    const lastBeat = userSocket.lastBeatAt
    await runBeating(world, lastBeat + OFFLINE + TICK, [agentSocket])

    // Stopped right after a tick and started again within the same tick period: no outage.
    await first.stop()
    const second = await startNode(t, world, { nodeId: 2 })
    const agentAgain = await second.connect(agent('a1'))
    await runBeating(world, lastBeat + LEAVE + TICK, [agentAgain])
    await world.clock.until('the conversation closes', async () => {
      return (await statusOf(second, conversationId)).status === 'closed'
    })
    const closed = (await conversationEvents(world, conversationId)).find(
      (e) => e.type === 'ConversationClosed',
    )
    const at = (closed?.data as { at: number }).at - lastBeat
    t.ok(at >= LEAVE && at <= LEAVE + TICK, `closed on time (${at} ms)`)
  })

  t.test('gives no outage grace to someone who went silent after the restart', async (t) => {
    const world = await givenWorld(t)
    const first = await startNode(t, world, { nodeId: 1 })
    await first.stop()
    await world.clock.advanceTo(T0 + 60_000)
    const second = await startNode(t, world, { nodeId: 2 })
    const socket = await second.connect(user('u2'))
    const lastBeat = socket.lastBeatAt

    await runBeating(world, lastBeat + OFFLINE + TICK, [])
    t.match(socket.closed, { code: 4000 })
    const offline = (await presenceEvents(world, user('u2'))).find((e) => e.type === 'WentOffline')
    t.ok(offline, 'offline after the plain threshold')
    t.ok((offline?.data.at ?? 0) - lastBeat <= OFFLINE + TICK, 'without grace')
  })
})

// ---------------------------------------------------------------------------------------------
// Two monitors racing.

/**
 * The world's store, with appends to presence streams held back until two are waiting (or a few
 * event-loop turns pass), so two nodes decide on the same revision. Counts the lost races.
 */
function racingStore(inner: EventStore) {
  const held: (() => void)[] = []
  const lost = { count: 0 }
  const store: EventStore = {
    ...inner,
    async appendToStream(streamName, events, options) {
      if (streamName.startsWith('presence-')) {
        await new Promise<void>((resolve) => {
          held.push(resolve)
          if (held.length >= 2) for (const release of held.splice(0)) release()
          else {
            let turns = 0
            const wait = (): void => {
              if (!held.includes(resolve)) return
              if (++turns >= 5) {
                held.splice(held.indexOf(resolve), 1)
                resolve()
              } else setImmediate(wait)
            }
            setImmediate(wait)
          }
        })
      }
      try {
        return await inner.appendToStream(streamName, events, options)
      } catch (err) {
        if (err instanceof ConcurrencyError) lost.count += 1
        throw err
      }
    },
  }
  return { store, lost }
}

t.test('two monitors ticking at the same instant record and act on a departure once', async (t) => {
  t.test('a user: one PersonLeft, one ConversationClosed', async (t) => {
    const world = await givenWorld(t)
    const { store, lost } = racingStore(world.events)
    const a = await startNode(t, world, { nodeId: 1, events: store })
    const b = await startNode(t, world, { nodeId: 2, events: store })
    const { agentSocket, userSocket, conversationId } = await givenAssigned(a, 'u1', 'a1')
    const lastBeat = userSocket.lastBeatAt
    // The user's socket lives on node A only; node B's registry is empty.
    lost.count = 0

    await runBeating(world, lastBeat + LEAVE + 2 * TICK, [agentSocket])
    await world.clock.until('the conversation closes', async () => {
      return (await statusOf(b, conversationId)).status === 'closed'
    })
    await runBeating(world, lastBeat + LEAVE + 10 * TICK, [agentSocket])

    const history = await presenceEvents(world, user('u1'))
    t.equal(countOf(history, 'WentOffline'), 1, 'one WentOffline')
    t.equal(countOf(history, 'PersonLeft'), 1, 'one PersonLeft')
    t.equal(countOf(history, 'ConnectionClosed'), 1, 'one time-out')
    t.ok(lost.count > 0, `the monitors really raced (${lost.count} lost appends)`)
    const closed = (await conversationEvents(world, conversationId)).filter(
      (e) => e.type === 'ConversationClosed',
    )
    t.equal(closed.length, 1, 'one ConversationClosed')
    t.match(closed[0].data, { reason: 'user_left' })
    const closedNotices = agentSocket
      .pushes()
      .filter(({ frame }) => frame.type === 'system' && frame.event === 'closed')
    t.equal(closedNotices.length, 1, 'the agent is told once')
  })

  t.test('an agent: each conversation requeued once and each seat released once', async (t) => {
    const world = await givenWorld(t)
    const { store } = racingStore(world.events)
    const a = await startNode(t, world, { nodeId: 1, events: store })
    const b = await startNode(t, world, { nodeId: 2, events: store })
    const first = await givenAssigned(a, 'u1', 'a1', 2)
    const u2 = await a.connect(user('u2'))
    const second = await a.say(user('u2'), 'me too')
    await world.clock.until('both assigned', async () => {
      return (await statusOf(a, second.conversationId)).status === 'open'
    })
    const lastBeat = first.agentSocket.lastBeatAt

    await runBeating(world, lastBeat + LEAVE + 10 * TICK, [first.userSocket, u2])

    const agentHistory = await presenceEvents(world, agent('a1'))
    t.equal(countOf(agentHistory, 'PersonLeft'), 1, 'one PersonLeft')
    for (const id of [first.conversationId, second.conversationId]) {
      const history = await conversationEvents(world, id)
      t.equal(countOf(history, 'ConversationRequeued'), 1, `${id} requeued once`)
      t.equal(countOf(history, 'ConversationClosed'), 0, `${id} not closed`)
      t.match(await statusOf(b, id), { status: 'queued', agentId: null })
    }
    const desk = await world.events.readStream('agent-a1')
    t.equal(countOf(desk, 'SeatReleased'), 2, 'each seat released once')
    t.same((await b.desks.read('a1')).conversations, new Set())
  })
})

// ---------------------------------------------------------------------------------------------
// Agents.

t.test(
  'an agent without a live connection gets no new conversation but keeps theirs',
  async (t) => {
    const world = await givenWorld(t)
    const node = await startNode(t, world)
    const { agentSocket, userSocket, conversationId } = await givenAssigned(node, 'u1', 'a1')
    const lastBeat = agentSocket.lastBeatAt + 5_000
    await runBeating(world, lastBeat, [agentSocket, userSocket])

    // The agent's page closes; their presence goes offline at once.
    agentSocket.close(1000, 'page closed')
    await Promise.all(node.pending)
    t.match(await presenceDoc(world, agent('a1')), { status: 'offline', connections: 0 })

    // A new customer waits: the offline agent has four free seats but gets nothing.
    const u2 = await node.connect(user('u2'))
    const waiting = await node.say(user('u2'), 'hello?')
    await runBeating(world, lastBeat + LEAVE - 1, [userSocket, u2])
    t.match(await statusOf(node, waiting.conversationId), { status: 'queued' })
    t.match(
      await statusOf(node, conversationId),
      { status: 'open', agentId: 'a1' },
      'kept till the leave',
    )

    // Left: the conversation goes back to the head of the queue, ahead of the older waiting one.
    await runBeating(world, lastBeat + LEAVE + TICK, [userSocket, u2])
    t.match(await statusOf(node, conversationId), { status: 'queued', agentId: null })
    t.same((await node.desks.read('a1')).conversations, new Set(), 'the seat is released')
    const notice = userSocket
      .pushes()
      .find((p) => p.frame.type === 'system' && p.frame.event === 'agent_left')
    t.match(notice?.frame, { conversationId, previousAgentId: 'a1' }, 'the user is told')

    // A new agent with one seat takes the requeued conversation first.
    const a2 = await node.connect(agent('a2'), 1)
    await world.clock.until('the requeued conversation is assigned', async () => {
      return (await statusOf(node, conversationId)).status === 'open'
    })
    t.match(await statusOf(node, conversationId), { agentId: 'a2' })
    t.match(
      await statusOf(node, waiting.conversationId),
      { status: 'queued' },
      'the newer one waits',
    )
    t.ok(a2.pushes().length > 0)
  },
)

t.test('an agent leaving hands their conversations to another agent, losing nothing', async (t) => {
  const world = await givenWorld(t)
  const node = await startNode(t, world)
  const a1 = await node.connect(agent('a1'), 5)
  const u1 = await node.connect(user('u1'))
  // The first agent acknowledges only what arrived before they froze.
  const first = await node.say(user('u1'), 'm1')
  await world.clock.until(
    'assigned to a1',
    async () => (await statusOf(node, first.conversationId)).status === 'open',
  )
  const conversationId = first.conversationId
  a1.ackOnly(null)
  const unacked = [await node.say(user('u1'), 'm2'), await node.say(user('u1'), 'm3')]
  await world.clock.settle()
  t.same(
    a1
      .pushes()
      .map((p) => p.frame.messageId)
      .slice(-2),
    unacked.map((m) => m.messageId),
    'a1 got m2 and m3 but does not acknowledge them',
  )
  const lastBeat = a1.lastBeatAt

  // a1 goes silent; a second agent comes online with one seat; the user keeps writing.
  const a2 = await node.connect(agent('a2'), 1)
  await runBeating(world, lastBeat + OFFLINE + TICK, [u1, a2])
  t.match(a1.closed, { code: 4000 })
  unacked.push(await node.say(user('u1'), 'm4 while a1 is offline'))
  t.match(await statusOf(node, conversationId), { status: 'open', agentId: 'a1' })
  t.equal(a2.pushes().length, 0, 'a2 gets nothing before a1 has left')

  // Assigned at once or at the dispatcher's next periodic pass (see the test after this one).
  await runBeating(world, lastBeat + LEAVE + TICK + DEFAULT_DISPATCH_SWEEP_MS, [u1, a2])
  t.match(await statusOf(node, conversationId), { status: 'open', agentId: 'a2' })

  const notices = u1
    .pushes()
    .map((p) => p.frame)
    .filter((f) => f.type === 'system')
    .map((f) => [f.event, f.type === 'system' ? (f.agentId ?? f.previousAgentId) : null])
  t.same(
    notices.slice(-2),
    [
      ['agent_left', 'a1'],
      ['assigned', 'a2'],
    ],
    'agent_left, then assigned',
  )

  const received = a2.pushes().map((p) => p.frame)
  const messages = received.filter((f) => f.type === 'message')
  t.same(
    messages.map((f) => f.messageId),
    unacked.map((m) => m.messageId),
    'a2 gets every message a1 did not acknowledge, once each, in seq order',
  )
  t.notOk(
    messages.some((f) => f.messageId === first.messageId),
    'not what a1 acknowledged',
  )
  t.same(received.at(-1), { ...received.at(-1), type: 'system', event: 'assigned' })
  t.same((await node.desks.read('a1')).conversations, new Set(), "a1's seat is released")
  t.same((await node.desks.read('a2')).conversations, new Set([conversationId]))

  // Nothing more arrives later: no duplicate push to a2.
  await runBeating(world, world.clock.now() + LEAVE, [u1, a2])
  t.equal(a2.pushes().filter((p) => p.frame.type === 'message').length, unacked.length)
})

t.test(
  'assigns a requeued conversation to a free agent at once, not at the next periodic pass',
  async (t) => {
    const world = await givenWorld(t)
    const node = await startNode(t, world)
    const {
      agentSocket: a1,
      userSocket: u1,
      conversationId,
    } = await givenAssigned(node, 'u1', 'a1')
    const a2 = await node.connect(agent('a2'), 1)
    const lastBeat = a1.lastBeatAt

    // One tick past the leave: the requeue itself wakes the dispatcher, so a2 has it before
    // the next periodic pass could run.
    await runBeating(world, lastBeat + LEAVE + TICK, [u1, a2])
    await world.clock.until('assigned to a2 without moving the clock', async () => {
      return (await statusOf(node, conversationId)).agentId === 'a2'
    })
    t.match(await statusOf(node, conversationId), { status: 'open', agentId: 'a2' })
  },
)

// ---------------------------------------------------------------------------------------------
// The durable checkpoint of departures.

/** Makes the node's close of one conversation fail, as a store that is down would. */
function failClosing(conversationId: () => string | undefined) {
  return (node: Node): void => {
    const close = node.conversations.close.bind(node.conversations)
    node.conversations.close = async (by, id, reason) => {
      if (id === conversationId()) throw new Error('store unavailable')
      return close(by, id, reason)
    }
  }
}

/** Runs long enough for a departure's six tries with backoff (0.2 s to 6.4 s) to run out. */
const DEPARTURE_RETRIES_MS = 20_000

t.test('acts at the next start on a departure it could not act on', async (t) => {
  t.test('when it is the first departure the monitor ever saw', async (t) => {
    const world = await givenWorld(t)
    let failing: string | undefined
    const first = await startNode(t, world, { nodeId: 1, tweak: failClosing(() => failing) })
    const { agentSocket, userSocket, conversationId } = await givenAssigned(first, 'u1', 'a1')
    failing = conversationId
    await runBeating(world, userSocket.lastBeatAt + LEAVE + DEPARTURE_RETRIES_MS, [agentSocket])
    t.match(await statusOf(first, conversationId), { status: 'open' }, 'the departure failed')
    t.equal(countOf(await presenceEvents(world, user('u1')), 'PersonLeft'), 1, 'but it is recorded')

    await first.stop()
    const second = await startNode(t, world, { nodeId: 2 })
    await runBeating(world, world.clock.now() + 10 * TICK, [])
    t.match(
      await statusOf(second, conversationId),
      { status: 'closed', closeReason: 'user_left' },
      'the next start closes the conversation of the user who left',
    )
  })

  t.test('when a later departure was acted on before the restart', async (t) => {
    const world = await givenWorld(t)
    let failing: string | undefined
    const first = await startNode(t, world, { nodeId: 1, tweak: failClosing(() => failing) })
    // u0 leaves first and is acted on, so the monitor has a checkpoint.
    const c0 = await givenAssigned(first, 'u0', 'a1')
    const agentSocket = c0.agentSocket
    await runBeating(world, c0.userSocket.lastBeatAt + LEAVE + 5 * TICK, [agentSocket])
    t.match(await statusOf(first, c0.conversationId), { status: 'closed' })

    // u1's departure fails every try; u2 leaves a little later and is acted on.
    const u1 = await first.connect(user('u1'))
    const c1 = await first.say(user('u1'), 'one')
    await runBeating(world, world.clock.now() + 2_000, [agentSocket])
    const u2 = await first.connect(user('u2'))
    const c2 = await first.say(user('u2'), 'two')
    failing = c1.conversationId
    await runBeating(world, u2.lastBeatAt + LEAVE + DEPARTURE_RETRIES_MS, [agentSocket])
    t.match(await statusOf(first, c1.conversationId), { status: 'open' }, "u1's departure failed")
    // Departures are acted on in order and a failing one is retried, so u2's waits behind it
    // rather than moving the checkpoint past it.
    t.match(await statusOf(first, c2.conversationId), { status: 'open' }, "u2's waits behind u1's")
    t.ok(u1.closed)

    await first.stop()
    const second = await startNode(t, world, { nodeId: 2 })
    await runBeating(world, world.clock.now() + 10 * TICK, [])
    t.match(
      await statusOf(second, c1.conversationId),
      { status: 'closed', closeReason: 'user_left' },
      "the next start closes u1's conversation too",
    )
    t.match(
      await statusOf(second, c2.conversationId),
      { status: 'closed', closeReason: 'user_left' },
      "and then u2's",
    )
  })
})

t.test(
  'a departure replayed after a crash does not end the conversation of someone who came back',
  async (t) => {
    const world = await givenWorld(t)
    const first = await startNode(t, world, { nodeId: 1 })
    const agentSocket = await first.connect(agent('a1'))
    // u0 leaves first and is acted on: the monitor has a checkpoint from before u1's departure.
    const u0 = await first.connect(user('u0'))
    const c0 = await first.say(user('u0'), 'hello')
    const u1 = await first.connect(user('u1'))
    const c1 = await first.say(user('u1'), 'hello')
    await runBeating(world, u0.lastBeatAt + LEAVE + 5 * TICK, [agentSocket, u1])
    t.match(await statusOf(first, c0.conversationId), { status: 'closed' })
    const before = await world.readModels.checkpoint(MONITOR_CHECKPOINT)
    t.not(before, undefined, 'checkpointed after u0 left')

    // u1 goes silent and leaves too.
    await runBeating(world, u1.lastBeatAt + LEAVE + 5 * TICK, [agentSocket])
    t.match(await statusOf(first, c1.conversationId), {
      status: 'closed',
      closeReason: 'user_left',
    })

    // The user comes back and starts again; then the process dies, and its last checkpoint
    // write is lost (the state a crash between acting and checkpointing leaves).
    await first.connect(user('u1'))
    const again = await first.say(user('u1'), 'me again')
    await world.clock.until('the new conversation is assigned', async () => {
      return (await statusOf(first, again.conversationId)).status === 'open'
    })
    await first.stop()
    await world.readModels.commit(MONITOR_CHECKPOINT, [], before as bigint)

    const second = await startNode(t, world, { nodeId: 2 })
    const agentAgain = await second.connect(agent('a1'))
    const userAgain = await second.connect(user('u1'))
    await runBeating(world, world.clock.now() + 10 * TICK, [agentAgain, userAgain])
    t.match(
      await statusOf(second, again.conversationId),
      { status: 'open' },
      'the conversation the user opened after coming back stays open',
    )
  },
)

// ---------------------------------------------------------------------------------------------
// Heartbeat pruning.

t.test(
  'prunes superseded heartbeats once a minute, keeping the newest per connection',
  async (t) => {
    const world = await givenWorld(t)
    const calls: { at: number; options: PruneOptions }[] = []
    const store: EventStore = {
      ...world.events,
      async prune(options) {
        calls.push({ at: world.clock.now(), options })
        return 0
      },
    }
    const node = await startNode(t, world, { events: store })
    const socket = await node.connect(user('u1'))
    await runBeating(world, T0 + 3 * HEARTBEAT_PRUNE_EVERY_MS + TICK, [socket])

    t.same(
      calls.map((c) => c.at),
      [
        T0 + TICK,
        T0 + TICK + HEARTBEAT_PRUNE_EVERY_MS,
        T0 + TICK + 2 * HEARTBEAT_PRUNE_EVERY_MS,
        T0 + TICK + 3 * HEARTBEAT_PRUNE_EVERY_MS,
      ],
      'at the first tick, then every minute',
    )
    t.same(calls[1].options, {
      category: 'presence',
      type: 'HeartbeatRecorded',
      recordedBefore: calls[1].at - Math.max(OFFLINE, LEAVE),
      keepLatestBy: 'connectionId',
    })
  },
)
