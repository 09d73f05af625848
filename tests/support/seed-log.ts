import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Content } from '../../src/domain/content/schema'
import type { ConversationCommand } from '../../src/domain/conversation/commands'
import { conversationDecider } from '../../src/domain/conversation/decider'
import { ackWaitAfter, type DeliveryPolicy } from '../../src/domain/delivery/backoff'
import { customerDecider } from '../../src/domain/customer/customer'
import { deskDecider } from '../../src/domain/desk/desk'
import { presenceDecider, type PresenceCommand } from '../../src/domain/presence/presence'
import type { Decider } from '../../src/domain/shared/decider'
import type { Participant } from '../../src/domain/shared/participant'
import {
  agentStream,
  categoryOf,
  conversationStream,
  customerStream,
  presenceStream,
} from '../../src/domain/shared/streams'
import { openEventsDatabase } from '../../src/infra/eventstore/sqlite-schema'

/**
 * A seeded, realistic event log in a fresh embedded store, for replay, report and rebuild tests.
 * A small discrete-event simulation drives the real deciders: customers arrive at random, take an
 * agent's seat or wait in the queue, exchange messages of every format, and every timeline entry
 * is pushed, re-pushed while unacknowledged, acknowledged or given up; agents close (a few users
 * leave instead), seats are released, and everyone beats. The same seed writes the same log,
 * event ids and times included. 100,000 events take about two seconds.
 */
export interface SeedLogOptions {
  /** The data directory; the log goes to `<dir>/events.sqlite`, which must not exist yet. */
  dir: string
  /** How many events to write, exactly: the simulation stops wherever that count is reached. */
  events: number
  /** Default 1. */
  seed?: number
  /** Default 12. */
  agents?: number
  /** Seats per agent; default 2, so busy spells queue customers. */
  seats?: number
  /** The simulated clock's start; default 2025-01-06T08:00:00Z. */
  startAt?: number
  /** Mean time between two new conversations; default 10 s, enough to fill the seats at times. */
  arrivalMs?: number
}

export interface SeededLog {
  /** The events file, `<dir>/events.sqlite`. */
  path: string
  events: number
  /** Conversations opened (some may be cut short by the end of the log). */
  conversations: number
  firstRecordedAt: number
  lastRecordedAt: number
}

/** The file name the server and the CLI read in a data directory. */
export const SEED_EVENTS_FILE = 'events.sqlite'
/** Delivery policy of the simulated server: 3 pushes, 5 s before the first re-push. */
export const SEED_POLICY: DeliveryPolicy = { ackTimeoutMs: 5000, maxAttempts: 3 }
/** Heartbeat period, sparser than a live client's 10 s so that conversations dominate the log. */
export const SEED_BEAT_MS = 30_000

const THRESHOLDS = { offlineAfterMs: 30_000, leaveAfterMs: 120_000 }
const ROWS_PER_COMMIT = 5000

/** Writes a seeded log; synchronous, the file is complete and closed on return. */
export function seedLog(options: SeedLogOptions): SeededLog {
  const path = join(options.dir, SEED_EVENTS_FILE)
  if (existsSync(path)) throw new Error(`seedLog: ${path} exists already`)

  const sink = new LogSink(path, options.events, mulberry32(options.seed ?? 1))
  const sim = new Simulation(sink, options.startAt ?? Date.UTC(2025, 0, 6, 8))
  const world = new World(sim, sink.random, {
    agents: options.agents ?? 12,
    seats: options.seats ?? 2,
    arrivalMs: options.arrivalMs ?? 10_000,
  })
  world.start()
  sim.runUntil(() => sink.full)
  sink.close()
  return {
    path,
    events: sink.written,
    conversations: world.conversations,
    firstRecordedAt: sink.firstRecordedAt,
    lastRecordedAt: sink.lastRecordedAt,
  }
}

/** A seeded generator of numbers in [0, 1) (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let r = Math.imul(a ^ (a >>> 15), 1 | a)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}

// --- The store: rows as the SQLite adapter writes them, with simulated commit times.

class LogSink {
  written = 0
  firstRecordedAt = 0
  lastRecordedAt = 0
  private readonly db
  private readonly insert
  private readonly revisions = new Map<string, number>()
  private rows: unknown[][] = []

  constructor(
    path: string,
    private readonly target: number,
    readonly random: () => number,
  ) {
    this.db = openEventsDatabase(path)
    // Test data need not survive a power cut: skipping the fsyncs makes seeding twice as fast.
    this.db.pragma('synchronous = OFF')
    this.insert = this.db.prepare(
      `INSERT INTO events (id, stream, revision, type, data, metadata, recorded_at, category)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
  }

  get full(): boolean {
    return this.written >= this.target
  }

  /** Appends one decision's events, committed a few ms after the decision as a group commit is. */
  append(stream: string, events: { type: string; data: unknown }[], now: number): void {
    const at = Math.max(this.lastRecordedAt, now + Math.floor(this.random() * 3))
    for (const event of events) {
      if (this.full) return
      const revision = (this.revisions.get(stream) ?? -1) + 1
      this.revisions.set(stream, revision)
      const row = [this.uuid(), stream, revision, event.type, JSON.stringify(event.data), '{}']
      this.rows.push([...row, at, categoryOf(stream)])
      if (this.written === 0) this.firstRecordedAt = at
      this.lastRecordedAt = at
      this.written += 1
      if (this.rows.length === ROWS_PER_COMMIT) this.commit()
    }
  }

  close(): void {
    this.commit()
    this.db.pragma('wal_checkpoint(TRUNCATE)')
    this.db.close()
  }

  private commit(): void {
    const rows = this.rows
    this.rows = []
    this.db.transaction(() => {
      for (const row of rows) this.insert.run(...row)
    })()
  }

  /** A version 4 UUID drawn from the seeded generator. */
  private uuid(): string {
    const word = () => Math.floor(this.random() * 2 ** 32)
    const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0')
    const [a, b, c, d] = [word(), word(), word(), word()]
    const version = 0x4000 | (b & 0x0fff)
    const variant = 0x8000 | ((c >>> 16) & 0x3fff)
    return `${hex(a, 8)}-${hex(b >>> 16, 4)}-${hex(version, 4)}-${hex(variant, 4)}-${hex(c & 0xffff, 4)}${hex(d, 8)}`
  }
}

// --- The simulation: tasks are generators that yield how long they wait.

type Task = Generator<number, void, void>

class Simulation {
  now: number
  private readonly queue: { at: number; order: number; task: Task }[] = []
  private order = 0
  private readonly states = new Map<string, unknown>()

  constructor(
    private readonly sink: LogSink,
    startAt: number,
  ) {
    this.now = startAt
  }

  spawn(task: Task, delay = 0): void {
    heapPush(this.queue, { at: this.now + delay, order: this.order++, task })
  }

  runUntil(done: () => boolean): void {
    while (!done() && this.queue.length > 0) {
      const next = heapPop(this.queue)
      this.now = next.at
      const step = next.task.next()
      if (!step.done)
        heapPush(this.queue, { at: this.now + step.value, order: next.order, task: next.task })
    }
  }

  /** Decides a command on a stream, records the events and folds them; returns the events. */
  run<C, E extends { type: string; data: unknown }, S>(
    decider: Decider<C, E, S>,
    stream: string,
    command: C,
  ): E[] {
    let state = (this.states.get(stream) as S | undefined) ?? decider.initialState()
    const events = decider.decide(command, state)
    for (const event of events) state = decider.evolve(state, event)
    this.states.set(stream, state)
    this.sink.append(stream, events, this.now)
    return events
  }
}

// --- The world: agents, customers and their conversations.

interface WorldOptions {
  agents: number
  seats: number
  arrivalMs: number
}

class World {
  conversations = 0
  private ids = 386_923_482_786_562_048n
  private waiting = 0
  private readonly load = new Map<string, number>()

  constructor(
    private readonly sim: Simulation,
    private readonly random: () => number,
    private readonly options: WorldOptions,
  ) {}

  start(): void {
    for (let i = 1; i <= this.options.agents; i++) this.sim.spawn(this.agentShift(`a${i}`))
    this.sim.spawn(this.arrivals())
  }

  private *arrivals(): Task {
    for (let n = 1; ; n++) {
      this.sim.spawn(this.conversation(n))
      yield Math.round(-Math.log(1 - this.random()) * this.options.arrivalMs)
    }
  }

  private *agentShift(agentId: string): Task {
    const who: Participant = { role: 'agent', id: agentId }
    this.presence(who, { type: 'Connect', who, connectionId: `conn-${agentId}`, nodeId: 0 })
    this.sim.run(deskDecider, agentStream(agentId), {
      type: 'SetSeats',
      agentId,
      seats: this.options.seats,
      now: this.sim.now,
    })
    for (;;) {
      yield SEED_BEAT_MS
      this.presence(who, { type: 'Beat', who, connectionId: `conn-${agentId}` })
    }
  }

  private *conversation(n: number): Task {
    const user: Participant = { role: 'user', id: `u${n}` }
    const conversationId = this.nextId()
    const connectionId = `conn-u${n}`
    const state = { agent: null as Participant | null, ended: false }
    const act = (command: DistributiveOmit<ConversationCommand, 'now'>) =>
      this.sim.run(conversationDecider, conversationStream(conversationId), {
        ...command,
        now: this.sim.now,
      } as ConversationCommand)
    const send = (from: Participant, k: number) => {
      const messageId = this.nextId()
      const content = from.role === 'user' ? this.userContent(n, k) : this.agentContent(n, k)
      act({ type: 'SendMessage', from, clientMsgId: `${from.id}-${k}`, content, messageId })
      return messageId
    }
    const deliver = (messageId: string, to: Participant) =>
      this.sim.spawn(this.delivery(act, messageId, to), 5 + Math.floor(this.random() * 40))

    // 1. The customer comes online, opens the conversation and writes.
    this.conversations += 1
    this.presence(user, { type: 'Connect', who: user, connectionId, nodeId: 0 })
    this.sim.run(customerDecider, customerStream(user.id), {
      type: 'StartConversation',
      userId: user.id,
      conversationId,
      currentClosed: true,
      now: this.sim.now,
    })
    act({ type: 'OpenConversation', conversationId, userId: user.id })
    this.sim.spawn(this.userBeats(user, connectionId, state), SEED_BEAT_MS)
    const waitingMessages = [send(user, 1)]

    // 2. A seat, or the queue until one frees up.
    let queued = false
    for (;;) {
      const agentId = this.takeSeat(conversationId)
      if (agentId !== null) {
        const notice = this.nextId()
        act({ type: 'AssignAgent', agentId, messageId: notice })
        state.agent = { role: 'agent', id: agentId }
        if (queued) this.waiting -= 1
        for (const to of [user, state.agent]) deliver(notice, to)
        for (const messageId of waitingMessages) deliver(messageId, state.agent)
        break
      }
      if (!queued) {
        queued = true
        this.waiting += 1
        const notice = this.nextId()
        act({ type: 'QueueConversation', position: this.waiting, messageId: notice })
        deliver(notice, user)
      }
      yield 3000 + Math.floor(this.random() * 5000)
      if (this.random() < 0.3) waitingMessages.push(send(user, waitingMessages.length + 1))
    }
    const agent = state.agent

    // 3. Rounds: the agent answers, the customer writes back.
    const rounds = 2 + Math.floor(this.random() * 5)
    let k = waitingMessages.length
    for (let round = 1; round <= rounds; round++) {
      yield this.thinkTime(4_000, 60_000)
      deliver(send(agent, round), user)
      if (round === rounds) break
      yield this.thinkTime(8_000, 90_000)
      deliver(send(user, ++k), agent)
      if (this.random() < 0.25) {
        yield 2000 + Math.floor(this.random() * 6000)
        deliver(send(user, ++k), agent)
      }
    }

    // 4. The end: mostly the agent closes, sometimes the customer just leaves.
    const userLeaves = this.random() < 0.08
    if (userLeaves) {
      state.ended = true
      const thresholds = THRESHOLDS
      this.presence(user, {
        type: 'Disconnect',
        who: user,
        connectionId,
        reason: 'closed',
        thresholds,
      })
      yield THRESHOLDS.leaveAfterMs + 1000
      this.presence(user, { type: 'Sweep', who: user, thresholds })
    } else {
      yield this.thinkTime(2_000, 20_000)
    }
    const notice = this.nextId()
    const by = userLeaves ? null : agent
    act({
      type: 'CloseConversation',
      by,
      reason: userLeaves ? 'user_left' : 'agent_closed',
      messageId: notice,
    })
    for (const to of userLeaves ? [agent] : [user, agent]) deliver(notice, to)
    this.releaseSeat(agent.id, conversationId)
    if (!userLeaves) {
      yield 1000 + Math.floor(this.random() * 5000)
      state.ended = true
      const reason = 'closed'
      this.presence(user, {
        type: 'Disconnect',
        who: user,
        connectionId,
        reason,
        thresholds: THRESHOLDS,
      })
    }
  }

  /**
   * One timeline entry to one recipient: the first push, re-pushes on the policy's schedule
   * while unacknowledged, then an acknowledgement, or a give-up (users miss more than agents).
   */
  private *delivery(
    act: (command: DistributiveOmit<ConversationCommand, 'now'>) => unknown,
    messageId: string,
    recipient: Participant,
  ): Task {
    const neverAcks = this.random() < (recipient.role === 'user' ? 0.07 : 0.015)
    const ackAfter = neverAcks ? null : this.ackDelay()
    act({ type: 'RecordPush', messageId, recipient, reason: 'first', policy: SEED_POLICY })

    let elapsed = 0
    let attempt = 1
    let due = ackWaitAfter(1, SEED_POLICY.ackTimeoutMs)
    for (;;) {
      if (ackAfter !== null && ackAfter <= due) {
        yield ackAfter - elapsed
        act({ type: 'AcknowledgeMessages', by: recipient, messageIds: [messageId] })
        return
      }
      yield due - elapsed
      elapsed = due
      if (attempt < SEED_POLICY.maxAttempts) {
        act({ type: 'RecordPush', messageId, recipient, reason: 'due', policy: SEED_POLICY })
        attempt += 1
        due = elapsed + ackWaitAfter(attempt, SEED_POLICY.ackTimeoutMs)
        continue
      }
      act({ type: 'AbandonPush', messageId, recipient, policy: SEED_POLICY })
      if (ackAfter === null) return
      yield Math.max(0, ackAfter - elapsed)
      act({ type: 'AcknowledgeMessages', by: recipient, messageIds: [messageId] })
      return
    }
  }

  private *userBeats(user: Participant, connectionId: string, state: { ended: boolean }): Task {
    while (!state.ended) {
      this.presence(user, { type: 'Beat', who: user, connectionId })
      yield SEED_BEAT_MS
    }
  }

  /** The first agent from a random start with a free seat, whose seat is then taken; or null. */
  private takeSeat(conversationId: string): string | null {
    const { agents, seats } = this.options
    const first = Math.floor(this.random() * agents)
    for (let i = 0; i < agents; i++) {
      const agentId = `a${((first + i) % agents) + 1}`
      // The dispatcher reads seat counts from a view rather than trying each desk in turn.
      if ((this.load.get(agentId) ?? 0) >= seats) continue

      this.load.set(agentId, (this.load.get(agentId) ?? 0) + 1)
      this.sim.run(deskDecider, agentStream(agentId), {
        type: 'TakeSeat',
        agentId,
        conversationId,
        defaultSeats: seats,
        now: this.sim.now,
      })
      return agentId
    }
    return null
  }

  private releaseSeat(agentId: string, conversationId: string): void {
    this.load.set(agentId, (this.load.get(agentId) ?? 1) - 1)
    this.sim.run(deskDecider, agentStream(agentId), {
      type: 'ReleaseSeat',
      agentId,
      conversationId,
      reason: 'conversation_closed',
      now: this.sim.now,
    })
  }

  private presence(who: Participant, command: DistributiveOmit<PresenceCommand, 'now'>): void {
    this.sim.run(presenceDecider, presenceStream(who), {
      ...command,
      now: this.sim.now,
    } as PresenceCommand)
  }

  /** Mostly a few hundred ms; one in ten takes seconds, past the first re-push or all of them. */
  private ackDelay(): number {
    if (this.random() < 0.9) return 40 + Math.floor(-Math.log(1 - this.random()) * 400)
    return 2000 + Math.floor(this.random() * 30_000)
  }

  private thinkTime(min: number, max: number): number {
    return min + Math.floor(this.random() * this.random() * (max - min))
  }

  private nextId(): string {
    this.ids += 1n + BigInt(Math.floor(this.random() * 4096))
    return String(this.ids)
  }

  private userContent(n: number, k: number): Content {
    const r = this.random()
    if (r < 0.75) return { format: 'text', text: pick(this.random, USER_TEXTS) }
    if (r < 0.9) {
      const url = `https://cdn.parley.test/u${n}/photo-${k}.jpg`
      return { format: 'image', url, width: 1280, height: 960 }
    }
    if (r < 0.95) {
      return {
        format: 'video',
        url: `https://cdn.parley.test/u${n}/clip-${k}.mp4`,
        durationSec: 14,
      }
    }
    return { format: 'order_card', orderId: `ord-${n}`, title: 'Stoneware teapot, 1.2 l' }
  }

  private agentContent(n: number, k: number): Content {
    const r = this.random()
    if (r < 0.8) return { format: 'text', text: pick(this.random, AGENT_TEXTS) }
    if (r < 0.9) {
      const card = { orderId: `ord-${n}`, title: 'Stoneware teapot, 1.2 l' }
      return { format: 'order_card', ...card, priceCents: 3490, currency: 'EUR' }
    }
    if (r < 0.97) {
      const coupon = { couponId: `SORRY-${n}-${k}`, title: '10% off your next order' }
      return { format: 'coupon', ...coupon, amountCents: 500, currency: 'EUR' }
    }
    return { format: 'image', url: `https://cdn.parley.test/help/return-label.png` }
  }
}

const USER_TEXTS = [
  'Where is my order? The tracking page still says label created.',
  'The lid arrived cracked, can I get a replacement?',
  'Can I change the delivery address?',
  'Thanks! 🙏',
  'It is order ord-1234, placed on Monday.',
  'How long does a refund take?',
]
const AGENT_TEXTS = [
  'Hello! Let me look into that for you.',
  'Your parcel left our warehouse this morning.',
  'I have started a replacement, it ships today.',
  'Refunds reach your card within 3 to 5 working days.',
  'Is there anything else I can help with?',
]

const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)]

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

// --- A binary min-heap by (at, order): equal times run in the order they were scheduled.

interface Entry {
  at: number
  order: number
}

const before = (a: Entry, b: Entry): boolean => a.at < b.at || (a.at === b.at && a.order < b.order)

function heapPush<T extends Entry>(heap: T[], entry: T): void {
  heap.push(entry)
  let i = heap.length - 1
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (!before(heap[i], heap[parent])) break
    ;[heap[i], heap[parent]] = [heap[parent], heap[i]]
    i = parent
  }
}

function heapPop<T extends Entry>(heap: T[]): T {
  const top = heap[0]
  const last = heap.pop() as T
  if (heap.length > 0) {
    heap[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < heap.length && before(heap[l], heap[m])) m = l
      if (r < heap.length && before(heap[r], heap[m])) m = r
      if (m === i) break
      ;[heap[i], heap[m]] = [heap[m], heap[i]]
      i = m
    }
  }
  return top
}
