import { EVENTS_FILE } from '../../infra/data-files'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ParleyError } from '../../domain/shared/errors'
import { categoryOf } from '../../domain/shared/streams'
import type { EventStore, RecordedEvent } from '../../infra/eventstore/port'
import { DEFAULT_DATA_DIR } from '../../infra/config/config'
import { openEventStore } from '../../infra/backends'
import type { EventFilter } from './replay-options'

/** The event log's file name in the data directory (shared with the server). */
export const REPLAY_EVENTS_FILE = EVENTS_FILE

/**
 * Rows per page when a replay reads the embedded log: 500. A page's events stay alive until they
 * are written, and every young-generation collection copies them: on a million events, pages of
 * 500 took about a tenth less CPU than pages of 5000, and the extra queries cost nothing visible.
 */
export const REPLAY_PAGE_SIZE = 500

/** Code of a replay or report asked to read a log that does not exist. */
export const EVENT_LOG_MISSING = 'event_log_missing' as const

/** Where a replay or report reads: `--data-dir` if given, else the configured event store. */
export interface EventLogSource {
  /** An embedded log's data directory; wins over `eventStoreUrl`. */
  dataDir?: string
  /** PARLEY_EVENTSTORE_URL: read EventStoreDB instead of the embedded log. */
  eventStoreUrl?: string
}

/**
 * Opens the event log for reading: EventStoreDB when a URL is given and no data directory, else
 * the embedded log of the data directory. Both only read; SQLite's WAL mode lets a replay run
 * beside a running server, and a missing file is an error rather than a new empty log.
 */
export function openEventLog(
  source: EventLogSource,
  fallbackDataDir = DEFAULT_DATA_DIR,
): EventStore {
  const dataDir = source.dataDir ?? fallbackDataDir
  // An explicit data directory means its embedded log, whatever the environment says.
  const eventStoreUrl = source.dataDir === undefined ? source.eventStoreUrl : undefined
  const path = join(dataDir, REPLAY_EVENTS_FILE)
  if (!eventStoreUrl && !existsSync(path)) {
    throw new ParleyError(EVENT_LOG_MISSING, `no event log at ${path}`, { path })
  }
  return openEventStore({ eventStoreUrl, dataDir }, { sqlite: { pageSize: REPLAY_PAGE_SIZE } })
}

/**
 * The events a filter selects, in position order. Named streams are read whole with
 * `readStream`; otherwise the log is read after the position bound, through the category index
 * when categories are given. Types and times are checked per event: `recordedAt` is not indexed,
 * and is not guaranteed to grow with the position (a clock may step back between commits).
 */
export async function selectEvents(
  store: EventStore,
  filter: EventFilter,
): Promise<AsyncIterable<RecordedEvent> | Iterable<RecordedEvent>> {
  const accept = predicateOf(filter)
  const source = filter.streams
    ? await readStreams(store, filter.streams, filter.afterPosition ?? 0n)
    : store.readAll({ after: filter.afterPosition, categories: filter.categories })
  // The whole log unfiltered is the common case and the largest: no extra step per event.
  if (accept === undefined && filter.toPosition === undefined) return source

  return narrow(source, accept, filter.toPosition)
}

async function* narrow(
  source: AsyncIterable<RecordedEvent> | Iterable<RecordedEvent>,
  accept: ((event: RecordedEvent) => boolean) | undefined,
  last: bigint | undefined,
): AsyncGenerator<RecordedEvent> {
  for await (const event of source) {
    if (last !== undefined && event.position > last) return
    if (accept === undefined || accept(event)) yield event
  }
}

async function readStreams(
  store: EventStore,
  streams: readonly string[],
  after: bigint,
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = []
  for (const stream of streams) {
    for (const event of await store.readStream(stream)) {
      if (event.position > after) events.push(event)
    }
  }
  return streams.length === 1 ? events : events.sort((a, b) => (a.position < b.position ? -1 : 1))
}

/** One check for every active filter but the position bounds; undefined when none is. */
function predicateOf(filter: EventFilter): ((event: RecordedEvent) => boolean) | undefined {
  const checks: ((event: RecordedEvent) => boolean)[] = []
  if (filter.streams && filter.categories) {
    const categories = new Set(filter.categories)
    checks.push((event) => categories.has(categoryOf(event.streamName)))
  }
  if (filter.types) {
    const types = new Set(filter.types)
    checks.push((event) => types.has(event.type))
  }
  const { fromTime, toTime } = filter
  if (fromTime !== undefined) checks.push((event) => event.recordedAt >= fromTime)
  if (toTime !== undefined) checks.push((event) => event.recordedAt < toTime)

  if (checks.length === 0) return undefined
  if (checks.length === 1) return checks[0]
  return (event) => checks.every((check) => check(event))
}
