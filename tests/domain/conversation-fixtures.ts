import type { Content } from '../../src/domain/content/schema'
import type {
  AbandonPush,
  AcknowledgeMessages,
  AssignAgent,
  CloseConversation,
  OpenConversation,
  PushReason,
  QueueConversation,
  RecordPush,
  SendMessage,
} from '../../src/domain/conversation/commands'
import type {
  CloseReason,
  ConversationAssigned,
  ConversationClosed,
  ConversationOpened,
  ConversationQueued,
  MessageAcknowledged,
  MessagePushed,
  MessageSent,
  PushAbandoned,
} from '../../src/domain/conversation/events'
import type { DeliveryPolicy } from '../../src/domain/delivery/backoff'
import type { Participant } from '../../src/domain/shared/participant'

/**
 * Builders for the conversation's events and commands, with one conversation, one user and one
 * agent as defaults, so each test spells out only what its rule is about.
 */
export const CONVERSATION_ID = 'conv-1'
export const OPENED_AT = 1_000

export const user: Participant = { role: 'user', id: 'user-1' }
export const agent: Participant = { role: 'agent', id: 'agent-1' }
export const otherUser: Participant = { role: 'user', id: 'user-2' }
export const otherAgent: Participant = { role: 'agent', id: 'agent-2' }
export const admin: Participant = { role: 'admin', id: 'admin-1' }

/** Small numbers so due times are easy to read: waits of 1 s, 2 s, 4 s. */
export const policy: DeliveryPolicy = { ackTimeoutMs: 1_000, maxAttempts: 3 }

export const hello: Content = { format: 'text', text: 'hello' }

const base = { conversationId: CONVERSATION_ID }

// Events

export const opened = (userId = user.id, openedAt = OPENED_AT): ConversationOpened => ({
  type: 'ConversationOpened',
  data: { ...base, userId, openedAt },
})

export const queued = (seq: number, messageId = `n-${seq}`, position = 1): ConversationQueued => ({
  type: 'ConversationQueued',
  data: { ...base, position, messageId, seq, at: OPENED_AT + seq },
})

export const assigned = (
  seq: number,
  agentId = agent.id,
  messageId = `n-${seq}`,
): ConversationAssigned => ({
  type: 'ConversationAssigned',
  data: { ...base, agentId, messageId, seq, at: OPENED_AT + seq },
})

export interface SentOptions {
  from?: Participant
  clientMsgId?: string
  content?: Content
  messageId?: string
}

export const sent = (seq: number, options: SentOptions = {}): MessageSent => ({
  type: 'MessageSent',
  data: {
    ...base,
    messageId: options.messageId ?? `m-${seq}`,
    seq,
    clientMsgId: options.clientMsgId ?? `client-${seq}`,
    from: options.from ?? user,
    content: options.content ?? hello,
    sentAt: OPENED_AT + seq,
  },
})

export const pushed = (
  messageId: string,
  seq: number,
  recipient: Participant,
  attempt: number,
  pushedAt: number,
  nextDueAt: number,
): MessagePushed => ({
  type: 'MessagePushed',
  data: { ...base, messageId, seq, recipient, attempt, pushedAt, nextDueAt },
})

export const acknowledged = (
  messageId: string,
  recipient: Participant,
  at: number,
): MessageAcknowledged => ({
  type: 'MessageAcknowledged',
  data: { ...base, messageId, recipient, at },
})

export const abandoned = (
  messageId: string,
  recipient: Participant,
  attempts: number,
  at: number,
): PushAbandoned => ({
  type: 'PushAbandoned',
  data: { ...base, messageId, recipient, attempts, at },
})

export const closed = (
  seq: number,
  closedBy: Participant | null = agent,
  reason: CloseReason = 'agent_closed',
  agentId: string | null = agent.id,
  messageId = `n-${seq}`,
): ConversationClosed => ({
  type: 'ConversationClosed',
  data: { ...base, reason, closedBy, agentId, messageId, seq, at: OPENED_AT + seq },
})

// Commands

export const open = (userId = user.id, now = OPENED_AT): OpenConversation => ({
  type: 'OpenConversation',
  conversationId: CONVERSATION_ID,
  userId,
  now,
})

export const queue = (seq: number, position = 1): QueueConversation => ({
  type: 'QueueConversation',
  position,
  messageId: `n-${seq}`,
  now: OPENED_AT + seq,
})

export const assign = (seq: number, agentId = agent.id): AssignAgent => ({
  type: 'AssignAgent',
  agentId,
  messageId: `n-${seq}`,
  now: OPENED_AT + seq,
})

/** A send whose fresh message id and time match `sent(seq, options)`. */
export const send = (seq: number, options: SentOptions = {}): SendMessage => ({
  type: 'SendMessage',
  from: options.from ?? user,
  clientMsgId: options.clientMsgId ?? `client-${seq}`,
  content: options.content ?? hello,
  messageId: options.messageId ?? `m-${seq}`,
  now: OPENED_AT + seq,
})

export const recordPush = (
  messageId: string,
  recipient: Participant,
  reason: PushReason,
  now: number,
): RecordPush => ({ type: 'RecordPush', messageId, recipient, reason, policy, now })

export const abandonPush = (
  messageId: string,
  recipient: Participant,
  now: number,
): AbandonPush => ({
  type: 'AbandonPush',
  messageId,
  recipient,
  policy,
  now,
})

export const acknowledge = (
  by: Participant,
  messageIds: string[],
  now: number,
): AcknowledgeMessages => ({ type: 'AcknowledgeMessages', by, messageIds, now })

export const close = (
  seq: number,
  by: Participant | null,
  reason: CloseReason = 'agent_closed',
): CloseConversation => ({
  type: 'CloseConversation',
  by,
  reason,
  messageId: `n-${seq}`,
  now: OPENED_AT + seq,
})
