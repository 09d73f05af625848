import type { ConversationEvent } from '../../domain/conversation/events'
import { deliveryKey } from '../../domain/conversation/state'
import { Role, participantKey, type Participant } from '../../domain/shared/participant'
import { StreamCategory } from '../../domain/shared/streams'
import type { RecordedEvent } from '../../infra/eventstore/port'
import type { DocChange } from '../../infra/readmodel/port'
import type { DocReader, DocRef, Projection } from '../projection'

export const PENDING_ACKS = 'pending_acks'
export const PENDING_CONVERSATIONS = 'pending_conversations'

/** One message (or notice) that one recipient has not acknowledged yet. */
export type PendingAckDoc = {
  messageId: string
  conversationId: string
  seq: number
  recipient: Participant
  recipientKey: string
  pushes: number
  lastPushAt: number | null
  nextDueAt: number | null
  abandoned: boolean
}

/** Who a conversation's messages go to, and the user's messages still waiting for an agent. */
export type PendingConversationDoc = {
  conversationId: string
  userId: string
  agentId: string | null
  awaitingAgent: { messageId: string; seq: number }[]
  /**
   * What the current agent has not acknowledged yet (`fromUser` false for notices), so that when
   * the agent leaves their rows can be dropped and the user's messages handed to the next agent.
   */
  agentPending: { messageId: string; seq: number; fromUser: boolean }[]
}

/** `messageId|role:id`, the domain's delivery key. */
export const pendingKey = deliveryKey

const userOf = (c: PendingConversationDoc): Participant => ({ role: Role.User, id: c.userId })
const agent = (id: string): Participant => ({ role: Role.Agent, id })

function row(conversationId: string, messageId: string, seq: number, to: Participant): DocChange {
  const doc: PendingAckDoc = {
    messageId,
    conversationId,
    seq,
    recipient: to,
    recipientKey: participantKey(to),
    pushes: 0,
    lastPushAt: null,
    nextDueAt: null,
    abandoned: false,
  }
  return { collection: PENDING_ACKS, key: pendingKey(messageId, to), doc }
}

/** Rewrites an existing row; a row already acknowledged (deleted) stays gone. */
function updateRow(read: DocReader, key: string, patch: Partial<PendingAckDoc>): DocChange[] {
  const current = read(PENDING_ACKS, key) as PendingAckDoc | undefined
  return current ? [{ collection: PENDING_ACKS, key, doc: { ...current, ...patch } }] : []
}

const conversation = (doc: PendingConversationDoc): DocChange => ({
  collection: PENDING_CONVERSATIONS,
  key: doc.conversationId,
  doc,
})

function onConversation(e: ConversationEvent, c: PendingConversationDoc): DocChange[] {
  switch (e.type) {
    case 'ConversationQueued':
    case 'ConversationClosed': {
      const { conversationId, messageId, seq } = e.data
      const agentId = e.type === 'ConversationClosed' ? (e.data.agentId ?? c.agentId) : c.agentId
      if (agentId === null) return [row(conversationId, messageId, seq, userOf(c))]
      const agentPending = [...c.agentPending, { messageId, seq, fromUser: false }]
      return [
        row(conversationId, messageId, seq, userOf(c)),
        row(conversationId, messageId, seq, agent(agentId)),
        conversation({ ...c, agentPending }),
      ]
    }
    case 'ConversationAssigned': {
      // What the user sent while nobody was assigned goes to the new agent, then the notice to
      // both; the helper document is written last so a replay after a partial write re-derives
      // the rows from the list it still holds.
      const { conversationId, messageId, seq, agentId } = e.data
      const waiting = c.awaitingAgent.map((m) =>
        row(conversationId, m.messageId, m.seq, agent(agentId)),
      )
      const notice = [userOf(c), agent(agentId)].map((p) => row(conversationId, messageId, seq, p))
      const agentPending = [
        ...c.awaitingAgent.map((m) => ({ ...m, fromUser: true })),
        { messageId, seq, fromUser: false },
      ]
      return [
        ...waiting,
        ...notice,
        conversation({ ...c, agentId, awaitingAgent: [], agentPending }),
      ]
    }
    case 'ConversationRequeued': {
      // The agent who left keeps nothing: their rows go, and what the user sent that they never
      // acknowledged waits for the next agent, who gets it pushed on assignment.
      const { conversationId, messageId, seq, previousAgentId } = e.data
      const dropped = c.agentPending.map((m): DocChange => ({
        collection: PENDING_ACKS,
        key: pendingKey(m.messageId, agent(previousAgentId)),
        doc: null,
      }))
      const awaitingAgent = c.agentPending
        .filter((m) => m.fromUser)
        .map(({ messageId: id, seq: n }) => ({ messageId: id, seq: n }))
      return [
        ...dropped,
        row(conversationId, messageId, seq, userOf(c)),
        conversation({ ...c, agentId: null, awaitingAgent, agentPending: [] }),
      ]
    }
    case 'MessageSent': {
      const { conversationId, messageId, seq, from } = e.data
      if (from.role === Role.Agent) return [row(conversationId, messageId, seq, userOf(c))]
      if (from.role !== Role.User) return []
      if (c.agentId === null) {
        return [conversation({ ...c, awaitingAgent: [...c.awaitingAgent, { messageId, seq }] })]
      }
      const agentPending = [...c.agentPending, { messageId, seq, fromUser: true }]
      return [
        row(conversationId, messageId, seq, agent(c.agentId)),
        conversation({ ...c, agentPending }),
      ]
    }
    default:
      return []
  }
}

/** An agent's acknowledgement also leaves the conversation's list of what the agent owes. */
function forgetAgentPending(
  read: DocReader,
  conversationId: string,
  messageId: string,
): DocChange[] {
  const c = read(PENDING_CONVERSATIONS, conversationId) as PendingConversationDoc | undefined
  if (!c || !c.agentPending.some((m) => m.messageId === messageId)) return []
  return [
    conversation({ ...c, agentPending: c.agentPending.filter((m) => m.messageId !== messageId) }),
  ]
}

function refs(event: RecordedEvent): DocRef[] {
  const e = event as ConversationEvent
  switch (e.type) {
    case 'MessagePushed':
    case 'PushAbandoned':
      return [{ collection: PENDING_ACKS, key: pendingKey(e.data.messageId, e.data.recipient) }]
    case 'MessageAcknowledged':
      return [
        { collection: PENDING_ACKS, key: pendingKey(e.data.messageId, e.data.recipient) },
        { collection: PENDING_CONVERSATIONS, key: e.data.conversationId },
      ]
    default:
      return [{ collection: PENDING_CONVERSATIONS, key: e.data.conversationId }]
  }
}

/**
 * The pending-acknowledgement view: a row per message and recipient until acknowledged, with
 * its push count and when the next push is due. Resends and reconnects are driven from it.
 */
export const pendingAcksProjection: Projection = {
  name: 'pending_acks',
  collections: [
    {
      name: PENDING_ACKS,
      indexes: [['recipientKey', 'conversationId', 'seq'], ['nextDueAt']],
    },
    { name: PENDING_CONVERSATIONS, indexes: [] },
  ],
  categories: [StreamCategory.Conversation],
  reads: refs,

  apply(event, read) {
    const e = event as ConversationEvent
    switch (e.type) {
      case 'ConversationOpened': {
        const { conversationId, userId } = e.data
        if (read(PENDING_CONVERSATIONS, conversationId)) return []
        const doc: PendingConversationDoc = {
          conversationId,
          userId,
          agentId: null,
          awaitingAgent: [],
          agentPending: [],
        }
        return [{ collection: PENDING_CONVERSATIONS, key: conversationId, doc }]
      }
      case 'MessagePushed': {
        const { messageId, recipient, attempt, pushedAt, nextDueAt } = e.data
        const patch = { pushes: attempt, lastPushAt: pushedAt, nextDueAt }
        return updateRow(read, pendingKey(messageId, recipient), patch)
      }
      case 'MessageAcknowledged': {
        const { conversationId, messageId, recipient } = e.data
        const key = pendingKey(messageId, recipient)
        const owed =
          recipient.role === Role.Agent ? forgetAgentPending(read, conversationId, messageId) : []
        return [{ collection: PENDING_ACKS, key, doc: null }, ...owed]
      }
      case 'PushAbandoned': {
        const key = pendingKey(e.data.messageId, e.data.recipient)
        return updateRow(read, key, { abandoned: true, nextDueAt: null })
      }
      default: {
        const c = read(PENDING_CONVERSATIONS, e.data.conversationId) as
          PendingConversationDoc | undefined
        return c ? onConversation(e, c) : []
      }
    }
  },
}
