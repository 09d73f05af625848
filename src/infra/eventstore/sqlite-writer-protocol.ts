import { ConcurrencyError, ParleyError } from '../../domain/shared/errors'
import { EventIdConflictError } from './append-rules'
import type { ExpectedRevision, PruneOptions } from './port'

/**
 * What the main thread and the event store's writer (a worker thread, or the main thread itself
 * for `:memory:`) tell each other. Every value here survives structured cloning: bigints and
 * plain objects, never class instances, so errors travel as descriptions and are rebuilt.
 */

/** An event serialized by the main thread before queueing; `chosen` when the caller set its id. */
export interface EventRowIn {
  id: string
  chosen: boolean
  type: string
  data: string
  metadata: string
}

export interface AppendRequest {
  kind: 'append'
  streamName: string
  expected: ExpectedRevision
  rows: EventRowIn[]
}

export interface PruneRequest {
  kind: 'prune'
  options: PruneOptions
}

export type WriteRequest = AppendRequest | PruneRequest

/** An error as it crosses the thread boundary. */
export type SerializedError =
  | { type: 'concurrency'; streamName: string; expected: string; actual: string }
  | { type: 'id_conflict'; streamName: string; eventId: string }
  | { type: 'error'; name: string; message: string; code?: string; stack?: string }

/** One append's result: `written` events end at `position`, so the main thread can rebuild them. */
export type AppendOutcome =
  | { ok: true; nextExpectedRevision: bigint; position: bigint; written: number }
  | { ok: false; error: SerializedError }

/**
 * The writer answers the requests strictly in the order they were sent. `committed` settles the
 * next `outcomes.length` appends (one transaction, one fsync); `failed` rejects the next `count`
 * requests (their transaction rolled back); `pruned` settles the next request, a prune.
 */
export type WriteReply =
  | { kind: 'committed'; recordedAt: number; outcomes: AppendOutcome[] }
  | { kind: 'failed'; count: number; error: SerializedError }
  | { kind: 'pruned'; count: number }

/**
 * What a store hears on its port: replies in request order; `closed` after the last reply, once
 * its connection is closed; `broken` when its connection cannot write at all.
 */
export type WriterEvent =
  WriteReply | { kind: 'closed' } | { kind: 'broken'; error: SerializedError }

/** Told to the writer thread once per store: the database and the port the store talks on. */
export interface OpenWriter {
  path: string
  port: import('node:worker_threads').MessagePort
}

/** A message from a store to its writer: requests to run in order, or the order to close. */
export type WriterMessage = { kind: 'requests'; requests: WriteRequest[] } | { kind: 'close' }

export function serializeError(err: unknown): SerializedError {
  if (err instanceof ConcurrencyError) {
    const { streamName, expected, actual } = err
    return { type: 'concurrency', streamName, expected, actual }
  }
  if (err instanceof EventIdConflictError) {
    return { type: 'id_conflict', streamName: err.streamName, eventId: err.eventId }
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    const described = { type: 'error' as const, name: err.name, message: err.message }
    return { ...described, stack: err.stack, ...(typeof code === 'string' && { code }) }
  }
  return { type: 'error', name: 'Error', message: String(err) }
}

/** The error a caller sees: the domain's own classes again, or an Error keeping name and code. */
export function deserializeError(error: SerializedError): Error {
  if (error.type === 'concurrency') {
    return new ConcurrencyError(error.streamName, error.expected, error.actual)
  }
  if (error.type === 'id_conflict') return new EventIdConflictError(error.streamName, error.eventId)

  const rebuilt = new Error(error.message) as Error & { code?: string }
  rebuilt.name = error.name
  if (error.code !== undefined) rebuilt.code = error.code
  if (error.stack !== undefined) rebuilt.stack = error.stack
  return rebuilt
}

/** Whether an error is one append's own failure, not the whole transaction's. */
export const isAppendOwnError = (err: unknown): boolean => err instanceof ParleyError
