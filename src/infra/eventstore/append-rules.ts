import { ConcurrencyError, ParleyError } from '../../domain/shared/errors'
import type { AppendResult, ExpectedRevision, NewEvent } from './port'

/**
 * The rules every adapter applies to an append, kept in one place so the in-memory store used by
 * unit tests cannot drift from the SQLite store used in production.
 */

/** Internal code of an operation on a store that has been closed. */
export const STORE_CLOSED = 'store_closed' as const

/** Internal code of an event id reused for a different event. */
export const EVENT_ID_CONFLICT = 'event_id_conflict' as const

export class StoreClosedError extends ParleyError {
  constructor() {
    super(STORE_CLOSED, 'the event store is closed')
  }
}

/** An append whose ids were partly stored already, or stored in another stream. */
export class EventIdConflictError extends ParleyError {
  readonly streamName: string
  readonly eventId: string

  constructor(streamName: string, eventId: string) {
    super(EVENT_ID_CONFLICT, `event id ${eventId} is already used outside this append`, {
      streamName,
      eventId,
    })
    this.streamName = streamName
    this.eventId = eventId
  }
}

/** Throws ConcurrencyError unless `current` (the stream's last revision) is what the writer expects. */
export function checkExpectedRevision(
  streamName: string,
  expected: ExpectedRevision,
  current: bigint | undefined,
): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === undefined) ||
    (expected === 'stream_exists' && current !== undefined) ||
    (typeof expected === 'bigint' && expected === current)
  if (ok) return

  const actual = current === undefined ? 'no_stream' : current.toString()
  throw new ConcurrencyError(streamName, expected.toString(), actual)
}

/** Where an event with a given id was stored. */
export interface StoredEventRef {
  streamName: string
  revision: bigint
  position: bigint
}

/**
 * Decides what an append with caller-chosen ids means. None stored: a new append (undefined).
 * All stored in this stream: a retry of an append that did commit, whose result is returned again
 * instead of writing duplicates. Anything else is a conflict the caller must look at.
 */
export function findIdempotentResult(
  streamName: string,
  events: readonly NewEvent[],
  lookup: (id: string) => StoredEventRef | undefined,
): AppendResult | undefined {
  if (!events.some((event) => event.id !== undefined)) return undefined

  const refs = events.map((event) => (event.id === undefined ? undefined : lookup(event.id)))
  const firstStored = refs.findIndex((ref) => ref !== undefined)
  if (firstStored === -1) return undefined

  const misfit = refs.findIndex((ref) => ref?.streamName !== streamName)
  if (misfit !== -1) {
    throw new EventIdConflictError(streamName, events[misfit].id ?? String(events[firstStored].id))
  }

  let last = refs[firstStored] as StoredEventRef
  for (const ref of refs) if (ref !== undefined && ref.position > last.position) last = ref
  return { nextExpectedRevision: last.revision, position: last.position }
}

/** Throws when one append carries the same id twice, which no store could keep. */
export function checkDistinctIds(streamName: string, events: readonly NewEvent[]): void {
  const seen = new Set<string>()
  for (const { id } of events) {
    if (id === undefined) continue
    if (seen.has(id)) throw new EventIdConflictError(streamName, id)
    seen.add(id)
  }
}
