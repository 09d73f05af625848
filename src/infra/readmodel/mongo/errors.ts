import {
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb'
import { ParleyError } from '../../../domain/shared/errors'

export const READ_MODEL_UNAVAILABLE = 'read_model_unavailable' as const
export const READ_MODEL_CONFLICT = 'read_model_conflict' as const
export const READ_MODEL_STORE_FAILED = 'read_model_store_failed' as const
export const READ_MODEL_NO_COLLECTION = 'read_model_no_collection' as const

/** MongoDB cannot be reached (no primary, connection lost, client closed); retry later. */
export class ReadModelUnavailableError extends ParleyError {
  constructor(cause: Error) {
    super(READ_MODEL_UNAVAILABLE, `read-model store unavailable: ${cause.message}`)
    this.cause = cause
  }
}

/**
 * A transaction kept losing write conflicts to other writers after the driver's retries (two
 * nodes committing the same projection at once); the whole commit may be retried.
 */
export class ReadModelConflictError extends ParleyError {
  constructor(cause: Error) {
    super(READ_MODEL_CONFLICT, `read-model transaction conflicted: ${cause.message}`)
    this.cause = cause
  }
}

/** Any other refusal by MongoDB, with its server code when it gave one. */
export class ReadModelStoreError extends ParleyError {
  constructor(cause: MongoError) {
    super(READ_MODEL_STORE_FAILED, `read-model store failed: ${cause.message}`, {
      mongoCode: cause.code,
    })
    this.cause = cause
  }
}

/** A read or write named a collection no `ensureCollections` created. */
export class ReadModelNoCollectionError extends ParleyError {
  readonly collection: string

  constructor(collection: string) {
    super(READ_MODEL_NO_COLLECTION, `no such collection: ${collection}`, { collection })
    this.collection = collection
  }
}

const UNAVAILABLE = [
  MongoNetworkError,
  MongoServerSelectionError,
  MongoNotConnectedError,
  MongoTopologyClosedError,
]

/** The one place driver errors become Parley errors; Parley's own pass through unchanged. */
export function translate(err: unknown): unknown {
  if (err instanceof ParleyError || !(err instanceof MongoError)) return err
  if (UNAVAILABLE.some((type) => err instanceof type)) return new ReadModelUnavailableError(err)
  if (err.hasErrorLabel('TransientTransactionError')) return new ReadModelConflictError(err)
  return new ReadModelStoreError(err)
}

/** Runs `work`, translating what it throws. */
export async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    throw translate(err)
  }
}
