import type { Content } from '../domain/content/schema'
import type { SystemEventName } from '../domain/conversation/events'
import type { Participant } from '../domain/shared/participant'

export type { Content, Participant, SystemEventName }

/** Where the client's socket stands. `unauthorized` and `closed` are final until `start()`. */
export type ConnectionStatus =
  'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed' | 'unauthorized'

/** A `message` or `system` frame (or history entry), normalised; delivered once, in seq order. */
export interface ChatItem {
  kind: 'message' | 'system'
  messageId: string
  conversationId: string
  seq: number
  sentAt: number
  /** Messages: the sender. */
  from?: Participant
  /** Messages: the content, in a format the app may not know (render a placeholder then). */
  content?: Content
  /** Notices: `queued`, `assigned`, `agent_left`, `closed`, or a newer name. */
  event?: SystemEventName
  agentId?: string
  previousAgentId?: string
  position?: number
  reason?: string
  /** Sent by this client's participant (confirmed own sends, and own entries from history). */
  own: boolean
}

/** The state of an own send: waiting for `sent`, confirmed, or refused / timed out. */
export type OutgoingState = 'pending' | 'sent' | 'failed'

export interface OutgoingMessage {
  clientMsgId: string
  conversationId?: string
  content: Content
  state: OutgoingState
  /** When the app called `send()` (client clock, ms). */
  firstSentAt: number
  /** How many times the `send` frame went out. */
  attempts: number
  messageId?: string
  seq?: number
  error?: { code: string; message: string }
}

/** What the app may put in `send()`. */
export interface SendInput {
  /** Agents: required. Users: optional, the SDK fills in the current conversation it knows. */
  conversationId?: string
  content: Content
}

/** The timers the client uses; inject a virtual one in tests. */
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** A synchronous key-value store, as `window.localStorage`. */
export interface KeyValueStorage {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

/** The logging shape of Parley (pino fits): a fields object first, then a constant message. */
export interface ClientLogger {
  debug(fields: Record<string, unknown>, msg: string): void
  info(fields: Record<string, unknown>, msg: string): void
  warn(fields: Record<string, unknown>, msg: string): void
  error(fields: Record<string, unknown>, msg: string): void
}

/**
 * The part of the WebSocket API the client uses. Handlers take `any` so that both the DOM's and
 * `ws`'s event types fit; the client reads only `data`, `code`, `reason` and `message`.
 */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((event: any) => void) | null
  onmessage: ((event: any) => void) | null
  onclose: ((event: any) => void) | null
  onerror: ((event: any) => void) | null
}

export type WebSocketConstructor = new (url: string) => WebSocketLike

/** A token, or a function asked for one before each connection. */
export type TokenSource = string | (() => string | Promise<string>)

/** The `fetch` the client uses (the global one by default). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>
