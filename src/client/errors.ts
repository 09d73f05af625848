/** Codes the SDK raises itself, next to the server's protocol codes (docs/protocol.md). */
export const ClientErrorCode = {
  /** The socket or HTTP could not be reached. */
  Network: 'network_error',
  /** A frame or response the SDK could not read. */
  BadResponse: 'bad_response',
  /** A send was not confirmed within `failAfterMs`. */
  SendTimeout: 'send_timeout',
  /** The client was closed while the call was in progress. */
  Closed: 'client_closed',
  /** A missing gap could not be fetched (no access): items past it were delivered anyway. */
  GapUnfilled: 'gap_unfilled',
} as const
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode]

/** Server codes worth repeating unchanged (docs/protocol.md, errors). */
const RETRYABLE = new Set(['internal_error', 'rate_limited', 'unavailable', 'network_error'])

/** The one place that says which codes are retried by the SDK rather than reported as final. */
export function isRetryableCode(code: string): boolean {
  return RETRYABLE.has(code)
}

/**
 * An error the client reports: a server `error` frame, an HTTP error body, or a fault of its own.
 * `code` is the server's protocol code or a `ClientErrorCode`; `message` is for people and logs.
 */
export class ClientError extends Error {
  readonly code: string
  /** HTTP status, for errors from the HTTP API. */
  readonly status?: number
  /** The send this error is about, when the server named it. */
  readonly clientMsgId?: string
  readonly conversationId?: string

  constructor(
    code: string,
    message: string,
    details: { status?: number; clientMsgId?: string; conversationId?: string } = {},
  ) {
    super(message)
    this.name = 'ClientError'
    this.code = code
    this.status = details.status
    this.clientMsgId = details.clientMsgId
    this.conversationId = details.conversationId
  }
}
