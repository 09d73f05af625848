import type { Doc, ReadModelStore } from '../infra/readmodel/port'
import { DEFAULT_PAGE_LIMIT, clampLimit, defined, toPage } from './queries'
import {
  CONVERSATIONS,
  REQUEUE_RANK_OFFSET,
  type ConversationDoc,
} from './readmodels/conversations'

/**
 * The queue as agents see it (`GET /v1/queue`): the waiting conversations from the
 * `conversations` read model, in the dispatcher's order, without their content.
 */

/** A waiting conversation as the queue lists it: no content, only who and since when. */
export interface QueueEntry {
  conversationId: string
  userId: string
  /** When it began waiting: its opening, or the moment its agent left. */
  waitingSince: number
  /** Place in the line, 1 at the head. */
  position: number
  /** Sent back by `agent_left`, and so ahead of every conversation that never had an agent. */
  requeued: boolean
}

/** Where a page of the queue ended: what the next page continues after. */
export interface QueueMark {
  queueRank: number
  conversationId: string
  position: number
}

/** A page of the queue, and where the next one starts (null on the last page). */
export interface QueuePage {
  items: QueueEntry[]
  next: QueueMark | null
}

export interface QueuePageOptions {
  /** Continue after this conversation: the `next` of the previous page. */
  after?: QueueMark
  /** Default `DEFAULT_PAGE_LIMIT`, at most `MAX_QUERY_LIMIT`. */
  limit?: number
}

/** The queue entry of a waiting conversation at a place in the line. */
export function queueEntryOf(doc: ConversationDoc, position: number): QueueEntry {
  const requeued = doc.queueRank < doc.openedAt
  return {
    conversationId: doc.conversationId,
    userId: doc.userId,
    waitingSince: requeued ? doc.queueRank + REQUEUE_RANK_OFFSET : doc.openedAt,
    position,
    requeued,
  }
}

/**
 * The waiting conversations in the order the dispatcher serves them: by `queueRank`, ties by
 * conversationId (as text, as the store orders its keys). Positions go on from the cursor's, so
 * a later page counts from the page before it, not from the queue as it is now.
 */
export async function pageQueue(
  rm: ReadModelStore,
  options: QueuePageOptions = {},
): Promise<QueuePage> {
  const { after } = options
  const wanted = clampLimit(options.limit ?? DEFAULT_PAGE_LIMIT) + 1
  const found: Doc[] = []

  // 1. The rest of the cursor's rank (opened, or sent back, in the same millisecond).
  if (after !== undefined) {
    const ties = await rm.find({
      collection: CONVERSATIONS,
      where: { status: 'queued', queueRank: after.queueRank },
      range: { field: 'conversationId', gt: after.conversationId },
      orderBy: { field: 'conversationId', direction: 'asc' },
      limit: wanted,
    })
    found.push(...ties)
  }

  // 2. Everything further back in the line.
  if (found.length < wanted) {
    const behind = await rm.find({
      collection: CONVERSATIONS,
      where: { status: 'queued' },
      range: defined({ field: 'queueRank', gt: after?.queueRank }),
      orderBy: { field: 'queueRank', direction: 'asc' },
      limit: wanted - found.length,
    })
    found.push(...behind)
  }

  const page = toPage<ConversationDoc>(found, wanted - 1)
  const first = (after?.position ?? 0) + 1
  const items = page.items.map((doc, i) => queueEntryOf(doc, first + i))
  const last = page.items[page.items.length - 1]
  const next = page.more
    ? {
        queueRank: last.queueRank,
        conversationId: last.conversationId,
        position: first - 1 + items.length,
      }
    : null
  return { items, next }
}
