import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { filter, firstValueFrom, timeout } from 'rxjs'
import { createTokenSigner } from '../../src/infra/auth/tokens'
import { loadConfig, type Config } from '../../src/infra/config/config'
import type { EventStore, RecordedEvent } from '../../src/infra/eventstore/port'
import { createParley, type Parley, type ParleyOverrides } from '../../src/server'
import { TestClient, type Frame } from './ws-client'

/** A fixed secret for tests, long enough for the verifier. */
export const TEST_SECRET = 'test-secret-0123456789abcdefghijklmnopqrstuvwxyz'

export type TestRole = 'user' | 'agent' | 'admin'

/** What a test needs to reach a running server, in process or spawned. */
export interface ServerEndpoint {
  /** ws://127.0.0.1:<port> */
  wsUrl: string
  httpUrl: string
  token(role: TestRole, id: string, seats?: number): string
}

export interface TestServer extends ServerEndpoint {
  parley: Parley
  config: Config
  dataDir: string
  close(): Promise<void>
}

/** A token signed with TEST_SECRET, for servers started with it. */
export function testToken(role: TestRole, id: string, seats?: number): string {
  return createTokenSigner(TEST_SECRET).sign({ role, id, ...(seats !== undefined && { seats }) })
}

/**
 * Starts a real Parley on 127.0.0.1 with an ephemeral port and a fresh data directory (or the
 * given one, to test restarts). `env` overrides configuration as the environment would.
 */
export async function startTestServer(
  options: { env?: Record<string, string>; dataDir?: string; overrides?: ParleyOverrides } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'parley-test-'))
  const config = loadConfig({
    PARLEY_DATA_DIR: dataDir,
    PARLEY_AUTH_SECRET: TEST_SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    ...options.env,
  })
  const parley = await createParley(config, options.overrides)
  await parley.app.listen({ port: 0, host: '127.0.0.1' })
  const address = parley.app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const signer = createTokenSigner(TEST_SECRET)

  return {
    parley,
    config,
    dataDir,
    wsUrl: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    token: (role, id, seats) => signer.sign({ role, id, ...(seats !== undefined && { seats }) }),
    async close() {
      await parley.close()
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A fresh data directory for a test that restarts servers on it; the test removes it. */
export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'parley-test-'))
}

/** A unique id per call, so each test has its own users, agents and conversations. */
let counter = 0
export function uniqueId(prefix: string): string {
  counter += 1
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`
}

/** A text content body. */
export const text = (value: string) => ({ format: 'text', text: value })

/** A history entry as GET /v1/conversations/:id/messages returns it. */
export type HistoryEntry = Record<string, unknown> & { messageId: string; seq: number }

/** One page of a conversation's history (default: everything after seq 0, up to 500). */
export async function fetchMessages(
  server: ServerEndpoint,
  who: { role: TestRole; id: string },
  conversationId: string,
  options: { afterSeq?: number; limit?: number } = {},
): Promise<HistoryEntry[]> {
  const { afterSeq = 0, limit = 500 } = options
  const query = `afterSeq=${afterSeq}&limit=${limit}`
  const url = `${server.httpUrl}/v1/conversations/${conversationId}/messages?${query}`
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${server.token(who.role, who.id)}` },
  })
  const body = (await response.json()) as { messages?: HistoryEntry[] }
  if (response.status !== 200 || !body.messages) {
    throw new Error(`history of ${conversationId}: ${response.status} ${JSON.stringify(body)}`)
  }
  return body.messages
}

export interface OpenedConversation {
  userId: string
  agentId: string
  conversationId: string
  user: TestClient
  agent: TestClient
  /** The `sent` frame of the user's first message, which opened the conversation. */
  first: Frame & { messageId: string; seq: number }
}

/**
 * An agent online with free seats, then a user whose first message opens a conversation that
 * is assigned to that agent. Returns once both have the `assigned` notice and the agent has the
 * first message. Both sockets acknowledge every push automatically until told otherwise.
 */
export async function openConversation(
  server: ServerEndpoint,
  options: { seats?: number; userId?: string; agentId?: string } = {},
): Promise<OpenedConversation> {
  const agentId = options.agentId ?? uniqueId('agent')
  const userId = options.userId ?? uniqueId('user')
  const agent = await TestClient.connect(
    server.wsUrl,
    server.token('agent', agentId, options.seats ?? 5),
  )
  agent.autoAck()
  // Registered before the user writes, so the conversation is assigned rather than queued.
  await agent.roundTrip()

  const user = await TestClient.connect(server.wsUrl, server.token('user', userId))
  user.autoAck()
  const first = await user.sendMessage({ clientMsgId: uniqueId('open'), content: text('hello') })
  if (first.type !== 'sent') throw new Error(`first message refused: ${JSON.stringify(first)}`)
  const conversationId = String(first.conversationId)

  const assigned = (f: Frame) =>
    f.type === 'system' && f.event === 'assigned' && f.conversationId === conversationId
  await user.next(assigned)
  await agent.next(assigned)
  await agent.next((f) => f.type === 'message' && f.messageId === first.messageId)
  return {
    userId,
    agentId,
    conversationId,
    user,
    agent,
    first: first as OpenedConversation['first'],
  }
}

/**
 * The first event of the log, replayed from its start, that matches; fails after `timeoutMs`
 * naming `what` did not happen. For a test that awaits what the server did instead of sleeping.
 */
export function awaitLogEvent<E extends RecordedEvent = RecordedEvent>(
  events: EventStore,
  what: string,
  match: (e: RecordedEvent) => boolean,
  timeoutMs = 5000,
): Promise<E> {
  const fail = () => Promise.reject(new Error(`no ${what} within ${timeoutMs} ms`))
  const found = events
    .subscribeToAll({ after: 0n })
    .pipe(filter(match), timeout({ first: timeoutMs, with: fail }))
  return firstValueFrom(found) as Promise<E>
}
