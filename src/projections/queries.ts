import { participantKey, type Participant } from '../domain/shared/participant'
import type { Doc, ReadModelStore, Scalar } from '../infra/readmodel/port'
import { POSITION_FIELD } from './batch'
import { AGENTS, type AgentDoc } from './readmodels/agents'
import {
  CONVERSATIONS,
  type ConversationDoc,
  type ConversationStatusView,
} from './readmodels/conversations'
import { MESSAGES, type MessageDoc } from './readmodels/messages'
import { PENDING_ACKS, type PendingAckDoc } from './readmodels/pending-acks'

export type { AgentDoc } from './readmodels/agents'
export type {
  ConversationDoc,
  ConversationStatusView,
  LastMessage,
} from './readmodels/conversations'
export type { MessageDoc, SystemSender } from './readmodels/messages'
export type { PendingAckDoc, PendingConversationDoc } from './readmodels/pending-acks'

/** Most documents one list query returns: 500. */
export const MAX_QUERY_LIMIT = 500
/** Messages per page when no limit is given: 100. */
export const DEFAULT_MESSAGES_LIMIT = 100
/** Conversations per list when no limit is given: 100. */
export const DEFAULT_CONVERSATIONS_LIMIT = 100

const clampLimit = (limit: number): number =>
  Math.max(0, Math.min(Math.floor(limit), MAX_QUERY_LIMIT))

// The runner's replay stamp is bookkeeping, not part of any read model's shape.
function unstamped<T>(doc: Doc): T {
  const { [POSITION_FIELD]: _stamp, ...rest } = doc
  return rest as T
}

/** Orders decimal ids numerically (shorter first), and any other ids consistently. */
const compareIds = (a: string, b: string): number =>
  a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)

export async function getConversation(
  rm: ReadModelStore,
  conversationId: string,
): Promise<ConversationDoc | undefined> {
  const doc = await rm.get(CONVERSATIONS, conversationId)
  return doc && unstamped<ConversationDoc>(doc)
}

export interface ListConversationsFilter {
  userId?: string
  agentId?: string
  status?: ConversationStatusView
  /** Default `DEFAULT_CONVERSATIONS_LIMIT`, at most `MAX_QUERY_LIMIT`. */
  limit?: number
}

/** Conversations matching every given field, newest first. */
export async function listConversations(
  rm: ReadModelStore,
  filter: ListConversationsFilter = {},
): Promise<ConversationDoc[]> {
  const { userId, agentId, status, limit = DEFAULT_CONVERSATIONS_LIMIT } = filter
  const where: Record<string, Scalar> = {}
  if (userId !== undefined) where.userId = userId
  if (agentId !== undefined) where.agentId = agentId
  if (status !== undefined) where.status = status

  const docs = await rm.find({
    collection: CONVERSATIONS,
    where,
    orderBy: { field: 'openedAt', direction: 'desc' },
    limit: clampLimit(limit),
  })
  return docs.map((doc) => unstamped<ConversationDoc>(doc))
}

export interface ListMessagesOptions {
  /** Only entries with a greater seq; default 0 (from the start). */
  afterSeq?: number
  /** Default `DEFAULT_MESSAGES_LIMIT`, at most `MAX_QUERY_LIMIT`. */
  limit?: number
}

/** A page of a conversation's timeline (messages and notices) in seq order. */
export async function listMessages(
  rm: ReadModelStore,
  conversationId: string,
  options: ListMessagesOptions = {},
): Promise<MessageDoc[]> {
  const { afterSeq = 0, limit = DEFAULT_MESSAGES_LIMIT } = options
  const docs = await rm.find({
    collection: MESSAGES,
    where: { conversationId },
    range: { field: 'seq', gt: afterSeq },
    orderBy: { field: 'seq', direction: 'asc' },
    limit: clampLimit(limit),
  })
  return docs.map((doc) => unstamped<MessageDoc>(doc))
}

export async function getAgent(rm: ReadModelStore, agentId: string): Promise<AgentDoc | undefined> {
  const doc = await rm.get(AGENTS, agentId)
  return doc && unstamped<AgentDoc>(doc)
}

/**
 * Everything one recipient has not acknowledged, by conversation and then seq: the order a
 * reconnecting client should receive it in. A recipient's backlog is small, so it is sorted here.
 */
export async function listPendingFor(
  rm: ReadModelStore,
  recipient: Participant,
): Promise<PendingAckDoc[]> {
  const docs = await rm.find({
    collection: PENDING_ACKS,
    where: { recipientKey: participantKey(recipient) },
  })
  return docs
    .map((doc) => unstamped<PendingAckDoc>(doc))
    .sort((a, b) => compareIds(a.conversationId, b.conversationId) || a.seq - b.seq)
}

/** Every unacknowledged row, soonest due first (never-pushed rows, due null, come first). */
export async function listAllPending(rm: ReadModelStore): Promise<PendingAckDoc[]> {
  const docs = await rm.find({
    collection: PENDING_ACKS,
    orderBy: { field: 'nextDueAt', direction: 'asc' },
  })
  return docs.map((doc) => unstamped<PendingAckDoc>(doc))
}
