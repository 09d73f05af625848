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

function onConversation(e: ConversationEvent, c: PendingConversationDoc): DocChange[] {
  const conversation = (doc: PendingConversationDoc): DocChange => ({
    collection: PENDING_CONVERSATIONS,
    key: doc.conversationId,
    doc,
  })

  switch (e.type) {
    case 'ConversationQueued':
    case 'ConversationClosed': {
      const { conversationId, messageId, seq } = e.data
      const agentId = e.type === 'ConversationClosed' ? (e.data.agentId ?? c.agentId) : c.agentId
      const to = agentId === null ? [userOf(c)] : [userOf(c), agent(agentId)]
      return to.map((p) => row(conversationId, messageId, seq, p))
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
      return [...waiting, ...notice, conversation({ ...c, agentId, awaitingAgent: [] })]
    }
    case 'MessageSent': {
      const { conversationId, messageId, seq, from } = e.data
      if (from.role === Role.Agent) return [row(conversationId, messageId, seq, userOf(c))]
      if (from.role !== Role.User) return []
      if (c.agentId !== null) return [row(conversationId, messageId, seq, agent(c.agentId))]
      return [conversation({ ...c, awaitingAgent: [...c.awaitingAgent, { messageId, seq }] })]
    }
    default:
      return []
  }
}

function refs(event: RecordedEvent): DocRef[] {
  const e = event as ConversationEvent
  switch (e.type) {
    case 'MessagePushed':
    case 'MessageAcknowledged':
    case 'PushAbandoned':
      return [{ collection: PENDING_ACKS, key: pendingKey(e.data.messageId, e.data.recipient) }]
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
        }
        return [{ collection: PENDING_CONVERSATIONS, key: conversationId, doc }]
      }
      case 'MessagePushed': {
        const { messageId, recipient, attempt, pushedAt, nextDueAt } = e.data
        const patch = { pushes: attempt, lastPushAt: pushedAt, nextDueAt }
        return updateRow(read, pendingKey(messageId, recipient), patch)
      }
      case 'MessageAcknowledged': {
        const key = pendingKey(e.data.messageId, e.data.recipient)
        return [{ collection: PENDING_ACKS, key, doc: null }]
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
