import type { ParleyClient } from '../client'
import type { QueueEntry } from '../projections/queries'

/** How often the agent page re-reads its desk and the queue (ms): the queue moves silently. */
export const DESK_REFRESH_MS = 5000

/** Most queued conversations the agent page lists. */
export const QUEUE_LIST_LIMIT = 50

export interface ConversationSummary {
  conversationId: string
  userId: string
  status: 'queued' | 'open' | 'closed'
  openedAt: number
  agentId?: string
  closeReason?: string
}

/** A waiting conversation as `GET /v1/queue` lists it: the server's own type, no content. */
export type { QueueEntry }

export interface Desk {
  open: ConversationSummary[]
  seats: { seats: number; openConversations: number } | null
  /** The head of the queue (at most `QUEUE_LIST_LIMIT`), or null when it could not be read. */
  queue: QueueEntry[] | null
  /** More are waiting than `queue` holds. */
  queueMore: boolean
  problem: string | null
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

/**
 * Reads the agent's desk over HTTP: their open conversations, their seats in use and the head
 * of the queue, in the order the server assigns it (`GET /v1/queue`: ids and places only).
 */
export async function readDesk(client: ParleyClient, agentId: string): Promise<Desk> {
  const problems: string[] = []
  const [open, seats, queue] = await Promise.all([
    client
      .api<{ conversations: ConversationSummary[] }>('/v1/conversations?status=open')
      .then((r) => r.conversations)
      .catch((err: unknown) => (problems.push(`conversations: ${message(err)}`), [])),
    client
      .api<{ seats: number; openConversations: number }>(
        `/v1/agents/${encodeURIComponent(agentId)}`,
      )
      .catch((err: unknown) => (problems.push(`seats: ${message(err)}`), null)),
    client
      .api<{ queue: QueueEntry[]; nextCursor: string | null }>(
        `/v1/queue?limit=${QUEUE_LIST_LIMIT}`,
      )
      .catch((err: unknown) => (problems.push(`queue: ${message(err)}`), null)),
  ])
  return {
    open,
    seats,
    queue: queue?.queue ?? null,
    queueMore: queue !== null && queue.nextCursor !== null,
    problem: problems.length ? problems.join('; ') : null,
  }
}
