import { Role, participantKey, type Participant } from '../shared/participant'
import type { CloseReason, ConversationEvent } from './events'

/**
 * `new` is a conversation opened but not yet queued or assigned; outside the domain it reads as
 * `queued`, since it waits for an agent either way.
 */
export type ConversationStatus = 'none' | 'new' | 'queued' | 'open' | 'closed'

/** A message or system notice as the decider needs it: who sent it and its place. */
export interface MessageRecord {
  seq: number
  /** null for system notices, which go to both sides. */
  from: Participant | null
}

/** Delivery of one message to one recipient. */
export interface Delivery {
  pushes: number
  lastPushAt: number | null
  nextDueAt: number | null
  acked: boolean
  abandoned: boolean
}

export interface SentRecord {
  messageId: string
  seq: number
  sentAt: number
  /** The content as canonical JSON, to tell a retry from a different message with the same key. */
  contentKey: string
}

export interface ConversationState {
  status: ConversationStatus
  conversationId: string
  userId: string | null
  agentId: string | null
  openedAt: number | null
  closedAt: number | null
  closeReason: CloseReason | null
  lastSeq: number
  /** By `clientKey(from, clientMsgId)`: what a retried send must map to. */
  sent: Map<string, SentRecord>
  messages: Map<string, MessageRecord>
  /** By `deliveryKey(messageId, recipient)`. */
  deliveries: Map<string, Delivery>
}

export function initialState(): ConversationState {
  return {
    status: 'none',
    conversationId: '',
    userId: null,
    agentId: null,
    openedAt: null,
    closedAt: null,
    closeReason: null,
    lastSeq: 0,
    sent: new Map(),
    messages: new Map(),
    deliveries: new Map(),
  }
}

/**
 * The retry key of a send. A JSON array, because ids and client keys may both contain `:`, and
 * a joined string would let agent `a` with key `b:c` collide with agent `a:b` with key `c`.
 */
export const clientKey = (from: Participant, clientMsgId: string): string =>
  JSON.stringify([from.role, from.id, clientMsgId])

export const deliveryKey = (messageId: string, recipient: Participant): string =>
  `${messageId}|${participantKey(recipient)}`

/** The people a message must reach now: the other side, or both sides for a system notice. */
export function recipientsOf(state: ConversationState, record: MessageRecord): Participant[] {
  const user = state.userId === null ? [] : [{ role: Role.User, id: state.userId }]
  const agent = state.agentId === null ? [] : [{ role: Role.Agent, id: state.agentId }]
  if (record.from === null) return [...user, ...agent]
  return record.from.role === Role.User ? agent : user
}

export function deliveryOf(state: ConversationState, messageId: string, to: Participant): Delivery {
  return (
    state.deliveries.get(deliveryKey(messageId, to)) ?? {
      pushes: 0,
      lastPushAt: null,
      nextDueAt: null,
      acked: false,
      abandoned: false,
    }
  )
}

/**
 * Folds one event into the state. For speed on long conversations it updates the given state's
 * maps in place and returns the same object: callers keep only the latest state.
 */
export function evolve(state: ConversationState, event: ConversationEvent): ConversationState {
  switch (event.type) {
    case 'ConversationOpened': {
      const { conversationId, userId, openedAt } = event.data
      return { ...state, status: 'new', conversationId, userId, openedAt }
    }
    case 'ConversationQueued':
      state.messages.set(event.data.messageId, { seq: event.data.seq, from: null })
      return { ...state, status: 'queued', lastSeq: event.data.seq }
    case 'ConversationAssigned':
      state.messages.set(event.data.messageId, { seq: event.data.seq, from: null })
      return { ...state, status: 'open', agentId: event.data.agentId, lastSeq: event.data.seq }
    case 'ConversationRequeued':
      state.messages.set(event.data.messageId, { seq: event.data.seq, from: null })
      return { ...state, status: 'queued', agentId: null, lastSeq: event.data.seq }
    case 'MessageSent': {
      const { messageId, seq, from, clientMsgId, sentAt, content } = event.data
      state.messages.set(messageId, { seq, from })
      state.sent.set(clientKey(from, clientMsgId), {
        messageId,
        seq,
        sentAt,
        contentKey: canonicalJson(content),
      })
      return { ...state, lastSeq: seq }
    }
    case 'MessagePushed': {
      const { messageId, recipient, attempt, pushedAt, nextDueAt } = event.data
      const d = deliveryOf(state, messageId, recipient)
      state.deliveries.set(deliveryKey(messageId, recipient), {
        ...d,
        pushes: Math.max(d.pushes, attempt),
        lastPushAt: pushedAt,
        nextDueAt,
      })
      return state
    }
    case 'MessageAcknowledged': {
      const { messageId, recipient } = event.data
      const d = deliveryOf(state, messageId, recipient)
      state.deliveries.set(deliveryKey(messageId, recipient), {
        ...d,
        acked: true,
        nextDueAt: null,
      })
      return state
    }
    case 'PushAbandoned': {
      const { messageId, recipient } = event.data
      const d = deliveryOf(state, messageId, recipient)
      state.deliveries.set(deliveryKey(messageId, recipient), {
        ...d,
        abandoned: true,
        nextDueAt: null,
      })
      return state
    }
    case 'ConversationClosed':
      state.messages.set(event.data.messageId, { seq: event.data.seq, from: null })
      return {
        ...state,
        status: 'closed',
        closedAt: event.data.at,
        closeReason: event.data.reason,
        lastSeq: event.data.seq,
      }
    default:
      // An event type this version does not know (written by a newer one) changes nothing.
      return state
  }
}

/** JSON with object keys sorted, so equal content compares equal whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  )
}
