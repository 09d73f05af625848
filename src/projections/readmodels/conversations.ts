import type { ContentFormat } from '../../domain/content/schema'
import {
  isSystemNotice,
  type CloseReason,
  type ConversationEvent,
  type ConversationOpened,
} from '../../domain/conversation/events'
import type { Participant } from '../../domain/shared/participant'
import { StreamCategory } from '../../domain/shared/streams'
import type { RecordedEvent } from '../../infra/eventstore/port'
import type { DocChange } from '../../infra/readmodel/port'
import type { Projection } from '../projection'
import { SYSTEM_SENDER, type SystemSender } from './messages'

export const CONVERSATIONS = 'conversations'

/** What clients see: the domain's `new` (opened, not yet queued) reads as `queued`. */
export type ConversationStatusView = 'queued' | 'open' | 'closed'

/** The latest timeline entry, for conversation lists; notices have no format. */
export type LastMessage = {
  messageId: string
  seq: number
  from: Participant | SystemSender
  format: ContentFormat | null
  sentAt: number
}

export type ConversationDoc = {
  conversationId: string
  userId: string
  agentId: string | null
  status: ConversationStatusView
  openedAt: number
  closedAt: number | null
  closeReason: CloseReason | null
  lastSeq: number
  lastMessage: LastMessage | null
  queuedAt: number | null
  /**
   * Place in the waiting line, smallest first: the opening time, or for a conversation whose agent
   * left, a value below every opening time so it goes to the head of the queue.
   */
  queueRank: number
}

/** Subtracted from the requeue time so requeued conversations rank before any new one. */
export const REQUEUE_RANK_OFFSET = 1e14

function opened({ data }: ConversationOpened): ConversationDoc {
  return {
    conversationId: data.conversationId,
    userId: data.userId,
    agentId: null,
    status: 'queued',
    openedAt: data.openedAt,
    closedAt: null,
    closeReason: null,
    lastSeq: 0,
    lastMessage: null,
    queuedAt: null,
    queueRank: data.openedAt,
  }
}

/** The timeline entry an event adds, as a conversation list shows it. */
function lastMessageOf(event: ConversationEvent): LastMessage | undefined {
  if (event.type === 'MessageSent') {
    const { messageId, seq, from, content, sentAt } = event.data
    return { messageId, seq, from, format: content.format, sentAt }
  }
  if (!isSystemNotice(event)) return undefined

  const { messageId, seq, at } = event.data
  return { messageId, seq, from: SYSTEM_SENDER, format: null, sentAt: at }
}

function evolve(doc: ConversationDoc, event: ConversationEvent): ConversationDoc {
  const last = lastMessageOf(event)
  const next = last ? { ...doc, lastSeq: Math.max(doc.lastSeq, last.seq), lastMessage: last } : doc

  switch (event.type) {
    case 'ConversationQueued':
      return {
        ...next,
        status: next.status === 'closed' ? 'closed' : 'queued',
        queuedAt: event.data.at,
      }
    case 'ConversationAssigned':
      return { ...next, status: 'open', agentId: event.data.agentId }
    case 'ConversationRequeued':
      return {
        ...next,
        status: 'queued',
        agentId: null,
        queueRank: event.data.at - REQUEUE_RANK_OFFSET,
      }
    case 'ConversationClosed':
      return { ...next, status: 'closed', closedAt: event.data.at, closeReason: event.data.reason }
    default:
      return next
  }
}

// Pushes and acknowledgements leave the conversation's summary as it is.
const SUMMARY_EVENTS = new Set<string>([
  'ConversationOpened',
  'ConversationQueued',
  'ConversationAssigned',
  'ConversationRequeued',
  'MessageSent',
  'ConversationClosed',
])

const conversationRef = (event: RecordedEvent) =>
  SUMMARY_EVENTS.has(event.type)
    ? [{ collection: CONVERSATIONS, key: (event as ConversationEvent).data.conversationId }]
    : []

/** One summary per conversation: who, which state, and its latest entry. */
export const conversationsProjection: Projection = {
  name: 'conversations',
  collections: [
    {
      name: CONVERSATIONS,
      indexes: [
        ['userId', 'openedAt'],
        ['agentId', 'status'],
        ['status', 'openedAt'],
        ['status', 'queueRank'],
        ['openedAt'],
        ['agentId', 'openedAt'],
      ],
    },
  ],
  categories: [StreamCategory.Conversation],
  reads: conversationRef,

  apply(event, read): DocChange[] {
    const e = event as ConversationEvent
    if (!SUMMARY_EVENTS.has(e.type)) return []

    const key = e.data.conversationId
    const current = read(CONVERSATIONS, key) as ConversationDoc | undefined
    if (e.type === 'ConversationOpened') {
      // A repeated open (the decider allows none) must not wipe the summary.
      return current ? [] : [{ collection: CONVERSATIONS, key, doc: opened(e) }]
    }
    if (current === undefined) return []

    return [{ collection: CONVERSATIONS, key, doc: evolve(current, e) }]
  },
}
