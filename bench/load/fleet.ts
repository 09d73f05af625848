import { createTokenSigner } from '../../src/infra/auth/tokens'
import { inBatches, LoadSocket, type Frame } from './socket'

/** The HS256 secret the bench's Parley children run with (32+ characters). */
export const BENCH_SECRET = 'parley-bench-secret-0123456789abcdefghijklmnop'
/** Sockets opened at once while a fleet connects: 50. */
export const CONNECT_CONCURRENCY = 50
/** Seats per agent token: 2, so every user finds a seat with one agent per user. */
export const SEATS_PER_AGENT = 2
/** Longest wait for a user's first message to be stored and assigned: 60 s. */
export const ASSIGN_TIMEOUT_MS = 60_000

export type ServerKind = 'parley' | 'relay'

export interface FleetUser {
  socket: LoadSocket
  conversationId: string
}

/** Users and agents connected to one server, every user in a conversation an agent holds. */
export interface Fleet {
  kind: ServerKind
  users: FleetUser[]
  agents: LoadSocket[]
  /** Milliseconds the connecting and assigning took. */
  setupMs: number
}

export const allSockets = (fleet: Fleet): LoadSocket[] => [
  ...fleet.agents,
  ...fleet.users.map((u) => u.socket),
]

/** A user or agent token for the bench's Parley children. */
export function benchToken(role: 'user' | 'agent', id: string, seats?: number): string {
  return signer().sign({ role, id, ...(seats !== undefined && { seats }) })
}

let cachedSigner: ReturnType<typeof createTokenSigner> | undefined
const signer = () => (cachedSigner ??= createTokenSigner(BENCH_SECRET))

/**
 * Connects `pairs` agents, then `pairs` users, to a Parley server. Each agent proves it is
 * registered with a heartbeat round trip; each user sends a first message, which opens a
 * conversation, and waits for its `assigned` notice. Returns only when every user is assigned.
 */
export async function connectParleyFleet(
  port: number,
  pairs: number,
  runId: string,
): Promise<Fleet> {
  const started = performance.now()
  const url = (token: string) => `ws://127.0.0.1:${port}/ws?token=${encodeURIComponent(token)}`
  const indexes = Array.from({ length: pairs }, (_, i) => i)

  const agents = await inBatches(indexes, CONNECT_CONCURRENCY, async (i) => {
    const socket = await LoadSocket.connect(
      url(benchToken('agent', `a${runId}-${i}`, SEATS_PER_AGENT)),
    )
    const beat = socket.next((f) => f.type === 'heartbeat', 'heartbeat reply', ASSIGN_TIMEOUT_MS)
    socket.send({ type: 'heartbeat' })
    await beat
    return socket
  })

  const users = await inBatches(indexes, CONNECT_CONCURRENCY, async (i) => {
    const socket = await LoadSocket.connect(url(benchToken('user', `u${runId}-${i}`)))
    const clientMsgId = `open-${i}`
    const answered = (f: Frame) =>
      (f.type === 'sent' || f.type === 'error') && f.clientMsgId === clientMsgId
    const sent = socket.next(answered, `'sent' for user ${i}`, ASSIGN_TIMEOUT_MS)
    const isAssigned = (f: Frame) => f.type === 'system' && f.event === 'assigned'
    const assigned = socket.next(isAssigned, `'assigned' for user ${i}`, ASSIGN_TIMEOUT_MS)
    assigned.catch(() => undefined)
    socket.send({ type: 'send', clientMsgId, content: { format: 'text', text: 'hello' } })

    const answer = await sent
    if (answer.type !== 'sent') throw new Error(`first message refused: ${JSON.stringify(answer)}`)
    await assigned
    return { socket, conversationId: String(answer.conversationId) }
  })

  return { kind: 'parley', users, agents, setupMs: performance.now() - started }
}

/** Connects `pairs` agent and user sockets to the bare relay; pair `i` is user i and agent i. */
export async function connectRelayFleet(port: number, pairs: number): Promise<Fleet> {
  const started = performance.now()
  const url = (role: string, i: number) => `ws://127.0.0.1:${port}/?role=${role}&pair=${i}`
  const indexes = Array.from({ length: pairs }, (_, i) => i)
  const agents = await inBatches(indexes, CONNECT_CONCURRENCY, (i) =>
    LoadSocket.connect(url('agent', i)),
  )
  const users = await inBatches(indexes, CONNECT_CONCURRENCY, async (i) => ({
    socket: await LoadSocket.connect(url('user', i)),
    conversationId: `pair-${i}`,
  }))
  return { kind: 'relay', users, agents, setupMs: performance.now() - started }
}

export function closeFleet(fleet: Fleet): void {
  for (const socket of allSockets(fleet)) socket.terminate()
}
