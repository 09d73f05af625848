import { randomUUID } from 'node:crypto'
import { jsonEvent, type EventData, type JSONType, type ResolvedEvent } from '@eventstore/db-client'
import { v5 as uuidv5 } from 'uuid'
import type { NewEvent, RecordedEvent } from '../port'

/**
 * Parley events to the client's and back. Event data and metadata travel as JSON; ids must be
 * UUIDs on EventStoreDB, so a caller-chosen id that is not one is mapped to a name-based UUID
 * (v5) and kept in the metadata, to be handed back unchanged on reads. The same caller id thus
 * always becomes the same UUID, which is what makes a retried append idempotent on the server.
 */

/** The UUID v5 namespace of Parley's event ids; never change it, or retries stop matching. */
export const PARLEY_EVENT_ID_NAMESPACE = '6f1d8f3c-2b1e-5a7d-9c41-70a1e1c0d2b9'
/** Metadata key holding a caller id that is not a UUID; reserved, stripped on reads. */
export const ORIGINAL_ID_KEY = 'parleyEventId'

// Lower case only: the server hands ids back in lower case, and a read must return the id given.
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The UUID an event is stored under. */
export function esdbIdOf(id: string | undefined): string {
  if (id === undefined) return randomUUID()
  return CANONICAL_UUID.test(id) ? id : uuidv5(id, PARLEY_EVENT_ID_NAMESPACE)
}

/**
 * The client's events for an append. Serializes first, so data JSON cannot hold fails the whole
 * append with a TypeError before anything is sent, as on the other stores.
 */
export function toEventData(events: readonly NewEvent[]): EventData[] {
  const copies = events.map((event) => ({
    // The client's type leaves out null, numbers and booleans, which its JSON encoding keeps.
    data: JSON.parse(JSON.stringify(event.data ?? null)) as JSONType,
    metadata: JSON.parse(JSON.stringify(event.metadata ?? {})) as Record<string, unknown>,
  }))

  return events.map((event, i) => {
    const id = esdbIdOf(event.id)
    const metadata = { ...copies[i].metadata }
    if (event.id !== undefined && id !== event.id) metadata[ORIGINAL_ID_KEY] = event.id
    return jsonEvent({ id, type: event.type, data: copies[i].data, metadata })
  })
}

/** The largest value a commit position can take: the server's "no position" on stream reads. */
const NO_POSITION = 2n ** 64n - 1n

/**
 * A resolved event as Parley records it. The port's one position is the commit position: for a
 * normal (non-transactional) write it equals the prepare position, each event has its own, and
 * they only grow, though not by one. A stream read from a server before 22.6, which reports no
 * position there (or the maximum value), gives position 0n: callers of `readStream` use
 * revisions only.
 */
export function toRecordedEvent(resolved: ResolvedEvent): RecordedEvent | undefined {
  const event = resolved.event
  if (event === undefined) return undefined

  const commit = event.position?.commit ?? resolved.commitPosition
  const position = commit === undefined || commit === NO_POSITION ? 0n : commit
  const raw = event.metadata
  const metadata: Record<string, unknown> =
    raw !== null && typeof raw === 'object' && !(raw instanceof Uint8Array)
      ? { ...(raw as Record<string, unknown>) }
      : {}
  const original = metadata[ORIGINAL_ID_KEY]
  delete metadata[ORIGINAL_ID_KEY]

  return {
    id: typeof original === 'string' ? original : event.id,
    streamName: event.streamId,
    revision: event.revision,
    position,
    type: event.type,
    data: event.isJson ? event.data : null,
    metadata,
    recordedAt: event.created.getTime(),
  }
}
