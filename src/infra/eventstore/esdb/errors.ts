import { ErrorType, isCommandError, WrongExpectedVersionError } from '@eventstore/db-client'
import { ConcurrencyError, ParleyError } from '../../../domain/shared/errors'
import { StoreClosedError } from '../append-rules'
import type { ExpectedRevision } from '../port'

/**
 * The one place where the EventStoreDB client's errors become Parley's. Nothing outside this
 * adapter folder sees a client error: callers catch ConcurrencyError, StoreClosedError and the
 * two classes below.
 */

/** Internal code of a store that cannot be reached now (down, failing over, timing out). */
export const STORE_UNAVAILABLE = 'store_unavailable' as const
/** Internal code of any other failure the store reported. */
export const STORE_FAILED = 'store_failed' as const

/** The store could not be reached or did not answer in time; the same call may work later. */
export class StoreUnavailableError extends ParleyError {
  constructor(operation: string, cause: unknown) {
    // The client's own words (`connect ECONNREFUSED 127.0.0.1:2113`, a deadline) say where and
    // why, which an operator needs more than the operation's name.
    const reason = cause instanceof Error && cause.message ? `: ${cause.message}` : ''
    super(STORE_UNAVAILABLE, `event store unavailable during ${operation}${reason}`, { operation })
    this.cause = cause
  }
}

/** The store refused or failed a call for a reason retrying will not fix (access, size, ...). */
export class StoreFailedError extends ParleyError {
  constructor(operation: string, cause: unknown, vendorType?: string) {
    super(STORE_FAILED, `event store failed during ${operation}`, { operation, vendorType })
    this.cause = cause
  }
}

const UNAVAILABLE_TYPES: ReadonlySet<string> = new Set([
  ErrorType.UNAVAILABLE,
  ErrorType.CANCELLED,
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.TIMEOUT,
  ErrorType.NOT_LEADER,
])

/** What an operation was doing, for the error and the wrong-expected-version details. */
export interface ErrorContext {
  operation: string
  streamName?: string
  expected?: ExpectedRevision
  /** Whether the adapter was closed meanwhile: then any failure is the closing. */
  closed?: boolean
}

/** Translates whatever the client threw; Parley's own errors and TypeErrors pass through. */
export function translateError(err: unknown, context: ErrorContext): Error {
  if (context.closed) return new StoreClosedError()
  if (err instanceof ParleyError || err instanceof TypeError) return err

  if (err instanceof WrongExpectedVersionError) {
    const actual =
      typeof err.actualVersion === 'bigint' ? err.actualVersion.toString() : 'no_stream'
    const expected = context.expected ?? err.expectedVersion
    return new ConcurrencyError(
      err.streamName ?? context.streamName ?? '',
      String(expected),
      actual,
    )
  }
  if (err instanceof Error && isCommandError(err)) {
    if (UNAVAILABLE_TYPES.has(err.type)) return new StoreUnavailableError(context.operation, err)
    return new StoreFailedError(context.operation, err, err.type)
  }
  return new StoreFailedError(context.operation, err)
}
