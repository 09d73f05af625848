import { randomUUID } from 'node:crypto'
import { categoryOf } from '../../domain/shared/streams'
import {
  StoreClosedError,
  checkDistinctIds,
  checkExpectedRevision,
  findIdempotentResult,
} from './append-rules'
import { catchUpThenLive } from './catch-up'
import { createLiveFeed } from './live-feed'
import type { EventStore, ReadAllOptions, RecordedEvent } from './port'

/** Default number of events a catch-up or `readAll` takes per page: 1000. */
export const DEFAULT_MEMORY_PAGE_SIZE = 1000

export interface InMemoryEventStoreOptions {
  /** Events per page of `readAll` and catch-up; default `DEFAULT_MEMORY_PAGE_SIZE`. */
  pageSize?: number
  /** The clock stamped on `recordedAt`; default `Date.now`. */
  now?: () => number
}

/**
 * An event store held in arrays, for unit tests and local tools. It keeps the SQLite store's
 * semantics (revisions, positions, expected revisions, idempotent ids, catch-up hand-over) and
 * passes the same conformance suite; it forgets everything when the process ends.
 */
export function createInMemoryEventStore(options: InMemoryEventStoreOptions = {}): EventStore {
  const pageSize = options.pageSize ?? DEFAULT_MEMORY_PAGE_SIZE
  const now = options.now ?? Date.now
  // Position p is log[p - 1]: positions start at 1 and nothing is ever removed.
  const log: RecordedEvent[] = []
  const streams = new Map<string, RecordedEvent[]>()
  const byId = new Map<string, RecordedEvent>()
  const feed = createLiveFeed()
  let closed = false

  const readPage = (after: bigint, categories?: readonly string[]): RecordedEvent[] => {
    const wanted = categories && new Set(categories)
    const page: RecordedEvent[] = []
    for (let i = Number(after); i < log.length && page.length < pageSize; i++) {
      const event = log[i]
      if (wanted === undefined || wanted.has(categoryOf(event.streamName))) page.push(event)
    }
    return page
  }

  async function* readAll(readOptions: ReadAllOptions = {}): AsyncGenerator<RecordedEvent> {
    let remaining = readOptions.maxCount ?? Infinity
    let after = readOptions.after ?? 0n
    while (remaining > 0) {
      if (closed) throw new StoreClosedError()
      const page = readPage(after, readOptions.categories)
      for (const event of page.slice(0, remaining)) yield event
      remaining -= page.length
      if (page.length < pageSize) return
      after = page[page.length - 1].position
    }
  }

  return {
    async appendToStream(streamName, events, appendOptions = {}) {
      if (closed) throw new StoreClosedError()
      // A JSON round trip first, as the SQLite store makes: data JSON cannot keep fails the
      // append before anything is written, and later edits by the caller cannot leak into reads.
      const copies = events.map((event) => ({
        data: JSON.parse(JSON.stringify(event.data ?? null)) as unknown,
        metadata: JSON.parse(JSON.stringify(event.metadata ?? {})) as Record<string, unknown>,
      }))

      // Ids before revisions: a retry of an append that did commit must not fail on the
      // revision that append moved.
      checkDistinctIds(streamName, events)
      const retried = findIdempotentResult(streamName, events, (id) => byId.get(id))
      if (retried !== undefined) return retried

      const stream = streams.get(streamName) ?? []
      const current = stream.length === 0 ? undefined : BigInt(stream.length - 1)
      checkExpectedRevision(streamName, appendOptions.expectedRevision ?? 'any', current)
      if (events.length === 0) {
        return { nextExpectedRevision: current ?? -1n, position: BigInt(log.length) }
      }

      const recordedAt = now()
      const recorded = events.map((event, i): RecordedEvent => ({
        id: event.id ?? randomUUID(),
        streamName,
        revision: BigInt(stream.length + i),
        position: BigInt(log.length + 1 + i),
        type: event.type,
        ...copies[i],
        recordedAt,
      }))
      for (const event of recorded) {
        stream.push(event)
        log.push(event)
        byId.set(event.id, event)
      }
      streams.set(streamName, stream)

      feed.publish(recorded)
      const last = recorded[recorded.length - 1]
      return { nextExpectedRevision: last.revision, position: last.position }
    },

    async readStream(streamName, readOptions = {}) {
      if (closed) throw new StoreClosedError()
      const from = Number(readOptions.fromRevision ?? 0n)
      return (streams.get(streamName) ?? []).slice(from)
    },

    readAll,

    subscribeToAll(subscribeOptions = {}) {
      return catchUpThenLive(
        {
          readPage: (after) => readPage(after, subscribeOptions.categories),
          pageSize,
          feed,
          isClosed: () => closed,
        },
        subscribeOptions,
      )
    },

    async headPosition() {
      if (closed) throw new StoreClosedError()
      return BigInt(log.length)
    },

    async close() {
      closed = true
      feed.close()
    },
  }
}
