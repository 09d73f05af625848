import type {
  ClientLogger,
  Clock,
  FetchLike,
  KeyValueStorage,
  TokenSource,
  WebSocketConstructor,
} from './types'

/** Default pace of heartbeats: a third of the server's 30 s offline threshold. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000
/** Default wait for any frame after a heartbeat before the socket is taken for dead. */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 5_000
/** Default wait for a socket to open before the attempt is abandoned. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
/** Default wait for `sent` before the same frame is sent again. */
export const DEFAULT_RESEND_AFTER_MS = 5_000
/** Default time after which an unconfirmed send is marked failed. */
export const DEFAULT_FAIL_AFTER_MS = 60_000
/** Default first reconnect delay bound (the delay is random below it: full jitter). */
export const DEFAULT_RECONNECT_INITIAL_DELAY_MS = 500
/** Default cap of the reconnect delay bound, well under the server's 2-minute leave threshold. */
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 30_000
/** Default delay before acknowledgements go out in one frame, well under the 5 s ack timeout. */
export const DEFAULT_ACK_DELAY_MS = 200
/** Default wait for a held-back item's gap to fill by itself before fetching it over HTTP. */
export const DEFAULT_GAP_FILL_DELAY_MS = 200
/** Default history page size when catching up (the server allows 1 to 500). */
export const DEFAULT_HISTORY_PAGE = 100
/** Default time an HTTP request may take before it is aborted and counted as failed. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000
/** Default number of sends awaiting `sent` at once, well under the server's burst of 40. */
export const DEFAULT_MAX_IN_FLIGHT = 10

export interface ReconnectOptions {
  /** First delay bound; default `DEFAULT_RECONNECT_INITIAL_DELAY_MS` (500). */
  initialDelayMs?: number
  /** Cap of the doubling bound; default `DEFAULT_RECONNECT_MAX_DELAY_MS` (30 000). */
  maxDelayMs?: number
}

export interface ParleyClientOptions {
  /** HTTP base URL of the server, e.g. `http://localhost:8080`; the socket is `<ws base>/ws`. */
  baseUrl: string
  /** A JWT, or a function asked for one before each connection. */
  token: TokenSource
  /** WebSocket constructor; default `globalThis.WebSocket` (pass `ws` in Node 20). */
  WebSocket?: WebSocketConstructor
  /** fetch; default `globalThis.fetch`. */
  fetch?: FetchLike
  /** Where pending sends and per-conversation marks survive a reload; default none. */
  storage?: KeyValueStorage
  /** Storage key; default `parley:<role>:<id>` from the token's claims. */
  storageKey?: string
  /** Default `DEFAULT_HEARTBEAT_INTERVAL_MS` (10 000). */
  heartbeatIntervalMs?: number
  /** Default `DEFAULT_HEARTBEAT_TIMEOUT_MS` (5 000). */
  heartbeatTimeoutMs?: number
  /** Default `DEFAULT_CONNECT_TIMEOUT_MS` (10 000). */
  connectTimeoutMs?: number
  /** Default `DEFAULT_RESEND_AFTER_MS` (5 000). */
  resendAfterMs?: number
  /** Default `DEFAULT_FAIL_AFTER_MS` (60 000). */
  failAfterMs?: number
  /** Capped exponential backoff with full jitter; defaults above. */
  reconnect?: ReconnectOptions
  /** Default `DEFAULT_ACK_DELAY_MS` (200). */
  ackDelayMs?: number
  /** Default `DEFAULT_GAP_FILL_DELAY_MS` (200). */
  gapFillDelayMs?: number
  /** Default `DEFAULT_HISTORY_PAGE` (100). */
  historyPageSize?: number
  /** Default `DEFAULT_MAX_IN_FLIGHT` (10). */
  maxInFlight?: number
  /** Default `DEFAULT_REQUEST_TIMEOUT_MS` (15 000). */
  requestTimeoutMs?: number
  /** Timers; default the global ones and `Date.now`. */
  clock?: Clock
  /** Random numbers in [0, 1) for jitter; default `Math.random`. */
  random?: () => number
  /** Default silent. */
  logger?: ClientLogger
}

/** Every option with its default applied. */
export interface ResolvedOptions {
  baseUrl: string
  token: TokenSource
  WebSocket: WebSocketConstructor
  fetch: FetchLike
  storage?: KeyValueStorage
  storageKey?: string
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  connectTimeoutMs: number
  resendAfterMs: number
  failAfterMs: number
  reconnect: Required<ReconnectOptions>
  ackDelayMs: number
  gapFillDelayMs: number
  historyPageSize: number
  maxInFlight: number
  requestTimeoutMs: number
  clock: Clock
  random: () => number
  logger: ClientLogger
}

const noop = (): void => {}
/** The default logger: drops everything. */
export const silentClientLogger: ClientLogger = { debug: noop, info: noop, warn: noop, error: noop }

/** The platform's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export function resolveOptions(options: ParleyClientOptions): ResolvedOptions {
  const WebSocketImpl =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (!WebSocketImpl) {
    throw new TypeError('no WebSocket: pass the `ws` package as the WebSocket option in Node')
  }
  const fetchImpl = options.fetch ?? globalThis.fetch?.bind(globalThis)
  if (!fetchImpl) throw new TypeError('no fetch: pass one as the fetch option')

  return {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    token: options.token,
    WebSocket: WebSocketImpl,
    fetch: fetchImpl,
    storage: options.storage,
    storageKey: options.storageKey,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    resendAfterMs: options.resendAfterMs ?? DEFAULT_RESEND_AFTER_MS,
    failAfterMs: options.failAfterMs ?? DEFAULT_FAIL_AFTER_MS,
    reconnect: {
      initialDelayMs: options.reconnect?.initialDelayMs ?? DEFAULT_RECONNECT_INITIAL_DELAY_MS,
      maxDelayMs: options.reconnect?.maxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS,
    },
    ackDelayMs: options.ackDelayMs ?? DEFAULT_ACK_DELAY_MS,
    gapFillDelayMs: options.gapFillDelayMs ?? DEFAULT_GAP_FILL_DELAY_MS,
    historyPageSize: options.historyPageSize ?? DEFAULT_HISTORY_PAGE,
    maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    logger: options.logger ?? silentClientLogger,
  }
}
