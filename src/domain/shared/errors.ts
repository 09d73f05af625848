/**
 * Error codes are part of Parley's protocol: clients branch on them, so a code is never renamed
 * or reused once published. Retired codes stay listed in docs/protocol.md.
 */
export const ErrorCode = {
  BadFrame: 'bad_frame',
  InvalidContent: 'invalid_content',
  Forbidden: 'forbidden',
  NotFound: 'not_found',
  ConversationClosed: 'conversation_closed',
  Conflict: 'conflict',
  RateLimited: 'rate_limited',
  Unauthorized: 'unauthorized',
  /** HTTP only: a query or path parameter that does not fit the endpoint's schema. */
  BadRequest: 'bad_request',
  /** A fault of the server's; the frame or request may be retried unchanged. */
  Internal: 'internal_error',
  /** HTTP only: the read models lag too far behind to answer now; retry shortly (503). */
  Unavailable: 'unavailable',
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** Base of every error Parley raises on purpose; `code` is stable, `details` is structured. */
export class ParleyError extends Error {
  readonly code: string
  readonly details: Record<string, unknown>

  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message)
    this.name = new.target.name
    this.code = code
    this.details = details
  }
}

/** A caller's mistake or a rule of the domain, reported to the client with a protocol code. */
export class DomainError extends ParleyError {
  declare readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details)
  }
}

/** Internal code for a lost optimistic-concurrency race; handlers retry it, clients never see it. */
export const CONCURRENCY_ERROR = 'concurrency' as const

/** An append whose expected revision did not match the stream's: another writer went first. */
export class ConcurrencyError extends ParleyError {
  readonly streamName: string
  readonly expected: string
  readonly actual: string

  constructor(streamName: string, expected: string, actual: string) {
    super(CONCURRENCY_ERROR, `stream ${streamName} is at ${actual}, expected ${expected}`, {
      streamName,
      expected,
      actual,
    })
    this.streamName = streamName
    this.expected = expected
    this.actual = actual
  }
}

/** The one place that says which failures are worth trying again unchanged. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ConcurrencyError
}
