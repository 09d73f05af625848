import type { Content } from '../../domain/content/schema'
import {
  isSystemNotice,
  noticeName,
  type CloseReason,
  type ConversationEvent,
  type SystemEventName,
  type SystemNoticeEvent,
} from '../../domain/conversation/events'
import type { Participant } from '../../domain/shared/participant'
import { StreamCategory } from '../../domain/shared/streams'
import type { RecordedEvent } from '../../infra/eventstore/port'
import type { Projection } from '../projection'

export const MESSAGES = 'messages'

/** Who a system notice is from: no participant, so clients render it apart. */
export const SYSTEM_SENDER = { role: 'system', id: 'system' } as const
export type SystemSender = typeof SYSTEM_SENDER

/** One entry of a conversation's timeline: a message, or a system notice in its seq slot. */
export type MessageDoc = {
  conversationId: string
  seq: number
  messageId: string
  kind: 'message' | 'system'
  from: Participant | SystemSender
  /** Messages only. */
  content?: Content
  /** Notices only: which one. */
  event?: SystemEventName
  /** `assigned`: the agent; `closed`: the agent who had it, if any. */
  agentId?: string
  /** `agent_left`: the agent who left. */
  previousAgentId?: string
  /** `queued`: the 1-based place in the queue when queued. */
  position?: number
  /** `closed`: why. */
  reason?: CloseReason
  sentAt: number
}

/** Zero-padded seq, so the primary key alone already sorts a conversation's timeline. */
export const messageKey = (conversationId: string, seq: number): string =>
  `${conversationId}:${String(seq).padStart(12, '0')}`

function noticeDoc(event: SystemNoticeEvent): MessageDoc {
  const { conversationId, messageId, seq, at } = event.data
  const doc: MessageDoc = {
    conversationId,
    seq,
    messageId,
    kind: 'system',
    from: SYSTEM_SENDER,
    event: noticeName(event),
    sentAt: at,
  }

  switch (event.type) {
    case 'ConversationQueued':
      return { ...doc, position: event.data.position }
    case 'ConversationAssigned':
      return { ...doc, agentId: event.data.agentId }
    case 'ConversationRequeued':
      return { ...doc, previousAgentId: event.data.previousAgentId }
    case 'ConversationClosed': {
      const { agentId, reason } = event.data
      return agentId === null ? { ...doc, reason } : { ...doc, agentId, reason }
    }
  }
}

/** The timeline entry an event adds, if it adds one. */
export function toMessageDoc(event: ConversationEvent): MessageDoc | undefined {
  if (isSystemNotice(event)) return noticeDoc(event)
  if (event.type !== 'MessageSent') return undefined

  const { conversationId, seq, messageId, from, content, sentAt } = event.data
  return { conversationId, seq, messageId, kind: 'message', from, content, sentAt }
}

const timelineRef = (event: RecordedEvent) => {
  const e = event as ConversationEvent
  if (e.type !== 'MessageSent' && !isSystemNotice(e)) return []
  return [{ collection: MESSAGES, key: messageKey(e.data.conversationId, e.data.seq) }]
}

/** Each conversation's timeline, for history pages after a reconnect. */
export const messagesProjection: Projection = {
  name: 'messages',
  collections: [
    {
      name: MESSAGES,
      indexes: [
        ['conversationId', 'seq'],
        ['conversationId', 'sentAt'],
      ],
    },
  ],
  categories: [StreamCategory.Conversation],

  // Nothing is read: naming the written document lets a replay find its stamp in the prefetch.
  reads: timelineRef,

  apply(event) {
    const doc = toMessageDoc(event as ConversationEvent)
    if (doc === undefined) return []
    return [{ collection: MESSAGES, key: messageKey(doc.conversationId, doc.seq), doc }]
  },
}
