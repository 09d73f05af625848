import type { ParleyClient } from '../client'

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

export interface Desk {
  open: ConversationSummary[]
  seats: { seats: number; openConversations: number } | null
  /** Waiting conversations, or null when the page has no token that may read them. */
  queue: ConversationSummary[] | null
  problem: string | null
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

/**
 * Reads the agent's desk over HTTP: their open conversations, their seats in use and, given an
 * admin token, the queue. Agents may not list waiting conversations (docs/protocol.md,
 * "Visibility"), hence the separate token; without one the queue is left null. Known
 * shortcoming: an agent alone cannot see the queue; revisit when the API offers agents a queue
 * view (counts, or ids without content).
 */
export async function readDesk(
  client: ParleyClient,
  agentId: string,
  queueToken: string | null,
  baseUrl: string = location.origin,
): Promise<Desk> {
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
    queueToken === null
      ? Promise.resolve(null)
      : readQueue(baseUrl, queueToken).catch((err: unknown) => {
          problems.push(`queue: ${message(err)}`)
          return null
        }),
  ])
  return { open, seats, queue, problem: problems.length ? problems.join('; ') : null }
}

async function readQueue(baseUrl: string, token: string): Promise<ConversationSummary[]> {
  const response = await fetch(
    `${baseUrl}/v1/conversations?status=queued&limit=${QUEUE_LIST_LIMIT}`,
    {
      headers: { authorization: `Bearer ${token}` },
    },
  )
  const body = (await response.json()) as { conversations?: ConversationSummary[]; code?: string }
  if (!response.ok || !body.conversations) throw new Error(`${response.status} ${body.code ?? ''}`)
  // Newest first from the server; the queue reads best in the order people arrived.
  return [...body.conversations].reverse()
}
