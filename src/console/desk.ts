import type { ParleyClient } from '../client'
import type { QueueEntry } from '../projections/queue-query'

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

/** The server answers 404 for an agent it has not recorded yet (a first visit). */
const notFound = (err: unknown) => (err as { status?: unknown } | null)?.status === 404

/** One line per distinct reason: a bad token fails all three reads alike ("a, b: reason"). */
function summarise(problems: { part: string; reason: string }[]): string | null {
  if (!problems.length) return null
  // Rejections arrive in any order; the line names the parts in the page's order.
  const order = ['conversations', 'seats', 'queue']
  problems.sort((a, b) => order.indexOf(a.part) - order.indexOf(b.part))
  const byReason = new Map<string, string[]>()
  for (const { part, reason } of problems) {
    byReason.set(reason, [...(byReason.get(reason) ?? []), part])
  }
  return [...byReason].map(([reason, parts]) => `${parts.join(', ')}: ${reason}`).join('; ')
}

/**
 * Reads the agent's desk over HTTP: their open conversations, their seats in use and the head
 * of the queue, in the order the server assigns it (`GET /v1/queue`: ids and places only).
 * An agent the server has not recorded yet has no seats in use: `claimedSeats` (the token's
 * claim; default none) stands in for their seats, else seats stay unknown, without a problem.
 */
export async function readDesk(
  client: ParleyClient,
  agentId: string,
  claimedSeats?: number,
): Promise<Desk> {
  const problems: { part: string; reason: string }[] = []
  const failed = (part: string, err: unknown) => void problems.push({ part, reason: message(err) })
  const [open, seats, queue] = await Promise.all([
    client
      .api<{ conversations: ConversationSummary[] }>('/v1/conversations?status=open')
      .then((r) => r.conversations)
      .catch((err: unknown) => (failed('conversations', err), [])),
    client
      .api<{ seats: number; openConversations: number }>(
        `/v1/agents/${encodeURIComponent(agentId)}`,
      )
      .catch((err: unknown) => {
        if (!notFound(err)) {
          failed('seats', err)
          return null
        }
        return claimedSeats === undefined ? null : { seats: claimedSeats, openConversations: 0 }
      }),
    client
      .api<{ queue: QueueEntry[]; nextCursor: string | null }>(
        `/v1/queue?limit=${QUEUE_LIST_LIMIT}`,
      )
      .catch((err: unknown) => (failed('queue', err), null)),
  ])
  return {
    open,
    seats,
    queue: queue?.queue ?? null,
    queueMore: queue !== null && queue.nextCursor !== null,
    problem: summarise(problems),
  }
}
