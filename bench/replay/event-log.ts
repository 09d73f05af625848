import { conversationDecider } from '../../src/domain/conversation/decider'
import type { ConversationCommand } from '../../src/domain/conversation/commands'
import type { MessageSent } from '../../src/domain/conversation/events'
import { customerDecider } from '../../src/domain/customer/customer'
import { deskDecider, type DeskCommand, type DeskState } from '../../src/domain/desk/desk'
import { presenceDecider } from '../../src/domain/presence/presence'
import type { Decider } from '../../src/domain/shared/decider'
import type { Participant } from '../../src/domain/shared/participant'
import {
  agentStream,
  conversationStream,
  customerStream,
  presenceStream,
} from '../../src/domain/shared/streams'

/** An event as the generator produces it, before it has a position. */
export interface LogEvent {
  stream: string
  type: string
  data: unknown
}

/** Messages per generated conversation: 8, alternating user and agent. */
export const MESSAGES_PER_CONVERSATION = 8
/** Conversations in progress at once, so the log interleaves them as a live one does: 200. */
export const CONCURRENT_CONVERSATIONS = 200
/** Agents the generated conversations are spread over: 100. */
export const AGENTS = 100

const POLICY = { ackTimeoutMs: 5000, maxAttempts: 5 }
const THRESHOLDS = { offlineAfterMs: 30_000, leaveAfterMs: 120_000 }
const TEXT =
  'Where is my order? It was due on Tuesday and the tracking page still says label created.'

/** A MessageSent as the command handler would append it, for append benchmarks. */
export function sampleMessageSent(conversationId: string, seq: number): MessageSent {
  const messageId = `7${String(seq).padStart(18, '0')}`
  return {
    type: 'MessageSent',
    data: {
      conversationId,
      messageId,
      seq,
      clientMsgId: `web-${conversationId}-${seq}`,
      from: { role: 'user', id: `u-${conversationId}` },
      content: { format: 'text', text: TEXT },
      sentAt: Date.now(),
    },
  }
}

/**
 * A realistic log of `total` events, produced by the real deciders: each conversation has the
 * user come online, open it, an agent take a seat and get it assigned, eight messages each pushed
 * and acknowledged, heartbeats, the agent closing it and the user leaving. Conversations overlap
 * (CONCURRENT_CONVERSATIONS at a time), so the categories and streams interleave as they do live.
 */
export function* generateLog(total: number, startAt = Date.UTC(2025, 0, 1)): Generator<LogEvent> {
  const clock = { now: startAt }
  const desks = new Map<string, DeskState>()
  const agentsSeen = new Set<string>()
  const active: Generator<LogEvent>[] = []
  let produced = 0
  let started = 0

  while (produced < total) {
    while (active.length < CONCURRENT_CONVERSATIONS)
      active.push(conversation(started++, clock, desks, agentsSeen))
    for (let i = 0; i < active.length && produced < total; i++) {
      const next = active[i].next()
      if (next.done) {
        active[i] = conversation(started++, clock, desks, agentsSeen)
        continue
      }
      clock.now += 7
      produced += 1
      yield next.value
    }
  }
}

function* conversation(
  n: number,
  clock: { now: number },
  desks: Map<string, DeskState>,
  agentsSeen: Set<string>,
): Generator<LogEvent> {
  const user: Participant = { role: 'user', id: `u${n}` }
  const agentId = `a${n % AGENTS}`
  const agent: Participant = { role: 'agent', id: agentId }
  const conversationId = `c${n}`
  const connectionId = `conn-${n}`
  const conv = holder(conversationDecider, conversationStream(conversationId))
  const presence = holder(presenceDecider, presenceStream(user))
  const now = () => clock.now
  let ids = 0
  const messageId = () => `${n}${String(++ids).padStart(6, '0')}`

  // 1. The agent's desk and presence, once per agent.
  const desk = deskHolder(desks, agentId)
  if (!agentsSeen.has(agentId)) {
    agentsSeen.add(agentId)
    yield* holder(presenceDecider, presenceStream(agent)).run({
      type: 'Connect',
      who: agent,
      connectionId: `conn-${agentId}`,
      nodeId: 0,
      now: now(),
    })
    yield* desk.run({ type: 'SetSeats', agentId, seats: 5, now: now() })
  }

  // 2. The user comes online and opens the conversation; it is assigned.
  yield* presence.run({ type: 'Connect', who: user, connectionId, nodeId: 0, now: now() })
  yield* holder(customerDecider, customerStream(user.id)).run({
    type: 'StartConversation',
    userId: user.id,
    conversationId,
    currentClosed: false,
    now: now(),
  })
  yield* conv.run({ type: 'OpenConversation', conversationId, userId: user.id, now: now() })
  yield* desk.run({ type: 'TakeSeat', agentId, conversationId, defaultSeats: 5, now: now() })
  const assigned = messageId()
  yield* conv.run({ type: 'AssignAgent', agentId, messageId: assigned, now: now() })
  yield* deliver(conv, assigned, [user, agent], now)

  // 3. Messages, each pushed and acknowledged; a heartbeat every other message.
  for (let m = 1; m <= MESSAGES_PER_CONVERSATION; m++) {
    const from = m % 2 === 1 ? user : agent
    const id = messageId()
    yield* conv.run({
      type: 'SendMessage',
      from,
      clientMsgId: `k${m}`,
      content: { format: 'text', text: TEXT },
      messageId: id,
      now: now(),
    })
    yield* deliver(conv, id, [from === user ? agent : user], now)
    if (m % 2 === 0) yield* presence.run({ type: 'Beat', who: user, connectionId, now: now() })
  }

  // 4. The agent closes it, the seat is freed, the user goes.
  const closed = messageId()
  yield* conv.run({
    type: 'CloseConversation',
    by: agent,
    reason: 'agent_closed',
    messageId: closed,
    now: now(),
  })
  yield* deliver(conv, closed, [user, agent], now)
  yield* desk.run({
    type: 'ReleaseSeat',
    agentId,
    conversationId,
    reason: 'conversation_closed',
    now: now(),
  })
  yield* presence.run({
    type: 'Disconnect',
    who: user,
    connectionId,
    reason: 'closed',
    thresholds: { ...THRESHOLDS, offlineAfterMs: 0 },
    now: now(),
  })
}

interface Holder<C> {
  run(command: C): Generator<LogEvent>
}

function* deliver(
  conv: Holder<ConversationCommand>,
  messageId: string,
  to: Participant[],
  now: () => number,
): Generator<LogEvent> {
  for (const recipient of to) {
    yield* conv.run({
      type: 'RecordPush',
      messageId,
      recipient,
      reason: 'first',
      policy: POLICY,
      now: now(),
    })
  }
  for (const recipient of to) {
    yield* conv.run({
      type: 'AcknowledgeMessages',
      by: recipient,
      messageIds: [messageId],
      now: now(),
    })
  }
}

/** A stream's state folded as the events are decided, like the command handler's cache. */
function holder<C, E extends { type: string; data: unknown }, S>(
  decider: Decider<C, E, S>,
  stream: string,
): Holder<C> {
  let state = decider.initialState()
  return {
    *run(command) {
      const events = decider.decide(command, state)
      for (const event of events) state = decider.evolve(state, event)
      for (const event of events) yield { stream, type: event.type, data: event.data }
    },
  }
}

/**
 * Agent desks live across conversations, which interleave: the desk's new state is stored before
 * its events are handed out, so another conversation of the same agent never sees a stale desk.
 */
function deskHolder(desks: Map<string, DeskState>, agentId: string): Holder<DeskCommand> {
  return {
    *run(command) {
      let state = desks.get(agentId) ?? deskDecider.initialState()
      const events = deskDecider.decide(command, state)
      for (const event of events) state = deskDecider.evolve(state, event)
      desks.set(agentId, state)
      for (const event of events)
        yield { stream: agentStream(agentId), type: event.type, data: event.data }
    },
  }
}
