import type { PresenceStatus } from '../domain/presence/events'
import { participantKey, Role, type Participant } from '../domain/shared/participant'
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
import { PRESENCE, type PresenceDoc } from './readmodels/presence'

export type { AgentDoc } from './readmodels/agents'
export type {
  ConversationDoc,
  ConversationStatusView,
  LastMessage,
} from './readmodels/conversations'
export type { MessageDoc, SystemSender } from './readmodels/messages'
export type { PendingAckDoc, PendingConversationDoc } from './readmodels/pending-acks'
export type { PresenceDoc } from './readmodels/presence'

/** Most documents one list query returns: 500. */
export const MAX_QUERY_LIMIT = 500
/** Messages per page when no limit is given: 100. */
export const DEFAULT_MESSAGES_LIMIT = 100
/** Conversations per list when no limit is given: 100. */
export const DEFAULT_CONVERSATIONS_LIMIT = 100

/** A requested limit within 1..MAX_QUERY_LIMIT. */
export const clampLimit = (limit: number): number =>
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
  /** Only entries sent at or after this time (ms); default: no lower bound. */
  sentFrom?: number
  /** Only entries sent before this time (ms); default: no upper bound. */
  sentTo?: number
}

/**
 * A page of a conversation's timeline (messages and notices) in seq order, optionally only the
 * entries whose `sentAt` lies in [sentFrom, sentTo).
 */
export async function listMessages(
  rm: ReadModelStore,
  conversationId: string,
  options: ListMessagesOptions = {},
): Promise<MessageDoc[]> {
  const { afterSeq = 0, limit = DEFAULT_MESSAGES_LIMIT, sentFrom, sentTo } = options
  const max = clampLimit(limit)
  if (sentFrom === undefined && sentTo === undefined) {
    const docs = await timeline(rm, conversationId, { gt: afterSeq }, max)
    return docs.map((doc) => unstamped<MessageDoc>(doc))
  }

  // Times come from the server's clock, which may step back, so seq order is not exactly time
  // order. The seq span [first entry sent at or after sentFrom, last entry sent before sentTo]
  // holds every match; entries inside it but outside the window are filtered out below.
  const inWindow = (doc: Doc): boolean => {
    const sentAt = doc.sentAt as number
    return (
      (sentFrom === undefined || sentAt >= sentFrom) && (sentTo === undefined || sentAt < sentTo)
    )
  }
  const first =
    sentFrom === undefined ? undefined : await edge(rm, conversationId, { gte: sentFrom }, 'asc')
  const last =
    sentTo === undefined ? undefined : await edge(rm, conversationId, { lt: sentTo }, 'desc')
  if (first === null || last === null) return []

  const found: Doc[] = []
  let after = Math.max(afterSeq, first === undefined ? 0 : first - 1)
  while (found.length < max) {
    const batch = await timeline(rm, conversationId, { gt: after, lte: last }, max)
    found.push(...batch.filter(inWindow).slice(0, max - found.length))
    if (batch.length < max) break
    after = batch[batch.length - 1].seq as number
  }
  return found.map((doc) => unstamped<MessageDoc>(doc))
}

function timeline(
  rm: ReadModelStore,
  conversationId: string,
  seq: { gt: number; lte?: number },
  limit: number,
): Promise<Doc[]> {
  return rm.find({
    collection: MESSAGES,
    where: { conversationId },
    range: defined({ field: 'seq', ...seq }),
    orderBy: { field: 'seq', direction: 'asc' },
    limit,
  })
}

/** The smallest (asc) or greatest (desc) seq sent within `sentAt`, or null if there is none. */
async function edge(
  rm: ReadModelStore,
  conversationId: string,
  sentAt: { gte?: number; lt?: number },
  direction: 'asc' | 'desc',
): Promise<number | null> {
  const [doc] = await rm.find({
    collection: MESSAGES,
    where: { conversationId },
    range: { field: 'sentAt', ...sentAt },
    orderBy: { field: 'seq', direction },
    limit: 1,
  })
  return doc === undefined ? null : (doc.seq as number)
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

/** Items per page when no limit is given to a paged list: 100. */
export const DEFAULT_PAGE_LIMIT = 100

/** One page of a list, and whether anything follows its last item. */
export interface Page<T> {
  items: T[]
  more: boolean
}

/** Reads one more than asked for: the extra item only tells that another page exists. */
export function toPage<T>(docs: Doc[], limit: number): Page<T> {
  return { items: docs.slice(0, limit).map((doc) => unstamped<T>(doc)), more: docs.length > limit }
}

/** The object without its undefined fields: a filter left out matches everything. */
export const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T

const equalities = (fields: Record<string, Scalar | undefined>): Record<string, Scalar> =>
  defined(fields) as Record<string, Scalar>

export interface ConversationPageFilter {
  userId?: string
  agentId?: string
  status?: ConversationStatusView
  /** Only conversations opened at or after this time (ms). */
  openedFrom?: number
  /** Only conversations opened before this time (ms). */
  openedTo?: number
  /** Continue after this conversation: the last one of the previous page. */
  after?: { openedAt: number; conversationId: string }
  /** Default `DEFAULT_PAGE_LIMIT`, at most `MAX_QUERY_LIMIT`. */
  limit?: number
}

/**
 * Conversations matching every given field, newest first by `openedAt`; conversations opened in
 * the same millisecond come by `conversationId`, greatest first (compared as text, as the store
 * orders its keys), so a page boundary inside a tie loses and repeats nothing.
 */
export async function pageConversations(
  rm: ReadModelStore,
  filter: ConversationPageFilter = {},
): Promise<Page<ConversationDoc>> {
  const { openedFrom, openedTo, after, limit = DEFAULT_PAGE_LIMIT } = filter
  const where = equalities({
    userId: filter.userId,
    agentId: filter.agentId,
    status: filter.status,
  })
  const wanted = clampLimit(limit) + 1
  const found: Doc[] = []

  // 1. The rest of the cursor's millisecond, if that millisecond is inside the window.
  const inWindow =
    after !== undefined &&
    (openedFrom === undefined || after.openedAt >= openedFrom) &&
    (openedTo === undefined || after.openedAt < openedTo)
  if (after !== undefined && inWindow) {
    const ties = await rm.find({
      collection: CONVERSATIONS,
      where: { ...where, openedAt: after.openedAt },
      range: { field: 'conversationId', lt: after.conversationId },
      orderBy: { field: 'conversationId', direction: 'desc' },
      limit: wanted,
    })
    found.push(...ties)
  }

  // 2. Everything opened earlier (or, on a first page, everything in the window).
  if (found.length < wanted) {
    const upper = after === undefined ? openedTo : Math.min(after.openedAt, openedTo ?? Infinity)
    const older = await rm.find({
      collection: CONVERSATIONS,
      where,
      range: defined({ field: 'openedAt', gte: openedFrom, lt: upper }),
      orderBy: { field: 'openedAt', direction: 'desc' },
      limit: wanted - found.length,
    })
    found.push(...older)
  }
  return toPage<ConversationDoc>(found, wanted - 1)
}

export interface PendingPageOptions {
  /** Continue after this row: the last one of the previous page. */
  after?: { conversationId: string; seq: number }
  /** Default `DEFAULT_PAGE_LIMIT`, at most `MAX_QUERY_LIMIT`. */
  limit?: number
}

/**
 * What one recipient has not acknowledged, by conversation (ids compared as text) and then seq.
 * The store orders by one field, so the page is read conversation by conversation.
 */
export async function pagePendingFor(
  rm: ReadModelStore,
  recipient: Participant,
  options: PendingPageOptions = {},
): Promise<Page<PendingAckDoc>> {
  const recipientKey = participantKey(recipient)
  const wanted = clampLimit(options.limit ?? DEFAULT_PAGE_LIMIT) + 1
  const found: Doc[] = []
  let conversationId = options.after?.conversationId
  let afterSeq = options.after?.seq ?? 0

  while (found.length < wanted) {
    if (conversationId !== undefined) {
      const rows = await rm.find({
        collection: PENDING_ACKS,
        where: { recipientKey, conversationId },
        range: { field: 'seq', gt: afterSeq },
        orderBy: { field: 'seq', direction: 'asc' },
        limit: wanted - found.length,
      })
      found.push(...rows)
      if (found.length >= wanted) break
    }

    const [next] = await rm.find({
      collection: PENDING_ACKS,
      where: { recipientKey },
      range: defined({ field: 'conversationId', gt: conversationId }),
      orderBy: { field: 'conversationId', direction: 'asc' },
      limit: 1,
    })
    if (next === undefined) break
    conversationId = next.conversationId as string
    afterSeq = 0
  }
  return toPage<PendingAckDoc>(found, wanted - 1)
}

/** Roles in the order presence lists them (as text, like the store's keys). */
const ROLES_IN_ORDER = [Role.Admin, Role.Agent, Role.User] as const

export interface PresencePageFilter {
  role?: Role
  status?: PresenceStatus
  /** Continue after this person: the last one of the previous page. */
  after?: Participant
  /** Default `DEFAULT_PAGE_LIMIT`, at most `MAX_QUERY_LIMIT`. */
  limit?: number
}

/** People's presence by role (admin, agent, user) and then id (compared as text). */
export async function pagePresence(
  rm: ReadModelStore,
  filter: PresencePageFilter = {},
): Promise<Page<PresenceDoc>> {
  const { role, status, after } = filter
  const wanted = clampLimit(filter.limit ?? DEFAULT_PAGE_LIMIT) + 1
  const roles = ROLES_IN_ORDER.filter(
    (r) => (role === undefined || r === role) && (after === undefined || r >= after.role),
  )
  const found: Doc[] = []

  for (const r of roles) {
    if (found.length >= wanted) break
    const docs = await rm.find({
      collection: PRESENCE,
      where: equalities({ role: r, status }),
      range: defined({ field: 'id', gt: after?.role === r ? after.id : undefined }),
      orderBy: { field: 'id', direction: 'asc' },
      limit: wanted - found.length,
    })
    found.push(...docs)
  }
  return toPage<PresenceDoc>(found, wanted - 1)
}

/** An agent as the admin list shows it: presence, and the desk if the agent has one. */
export interface AgentEntry {
  presence: PresenceDoc
  desk: AgentDoc | undefined
}

/**
 * Every agent who ever connected, by id, with their desk. Presence is the list's source: a desk
 * exists only for an agent who connected (seats are set on connect and taken only when online).
 */
export async function pageAgents(
  rm: ReadModelStore,
  filter: { status?: PresenceStatus; afterAgentId?: string; limit?: number } = {},
): Promise<Page<AgentEntry>> {
  const { status, afterAgentId, limit } = filter
  const after = afterAgentId === undefined ? undefined : { role: Role.Agent, id: afterAgentId }
  const page = await pagePresence(rm, { role: Role.Agent, status, after, limit })
  const desks = await rm.getMany(
    AGENTS,
    page.items.map((p) => p.id),
  )
  const items = page.items.map((presence) => {
    const desk = desks.get(presence.id)
    return { presence, desk: desk && unstamped<AgentDoc>(desk) }
  })
  return { items, more: page.more }
}
