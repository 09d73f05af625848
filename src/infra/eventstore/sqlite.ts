import { randomUUID } from 'node:crypto'
import { ParleyError } from '../../domain/shared/errors'
import { categoryOf } from '../../domain/shared/streams'
import { type Logger, silentLogger } from '../logging/logger'
import {
  StoreClosedError,
  checkDistinctIds,
  checkExpectedRevision,
  findIdempotentResult,
} from './append-rules'
import { catchUpThenLive } from './catch-up'
import { createLiveFeed } from './live-feed'
import type { AppendResult, EventStore, ExpectedRevision, NewEvent, RecordedEvent } from './port'
import {
  type EventRow,
  openEventsDatabase,
  prepareStatements,
  toRecordedEvent,
} from './sqlite-schema'

/** Default number of rows a catch-up or `readAll` reads per page: 1000. */
export const DEFAULT_SQLITE_PAGE_SIZE = 1000

/** One group commit: how many appends shared the transaction and how many events it wrote. */
export interface CommitBatch {
  appends: number
  events: number
}

export interface SqliteEventStoreOptions {
  /** The database file; its directory is created if missing. `:memory:` works for quick tests. */
  path: string
  /** Default: silent. */
  logger?: Logger
  /** Rows per page of `readAll` and catch-up; default `DEFAULT_SQLITE_PAGE_SIZE`. */
  pageSize?: number
  /** Called after each committed transaction, for metrics and tests; default none. */
  onCommit?: (batch: CommitBatch) => void
}

interface PendingAppend {
  streamName: string
  events: readonly NewEvent[]
  expected: ExpectedRevision
  /** Serialized before queueing, so an event JSON cannot hold fails alone and at once. */
  rows: { id: string; type: string; data: string; metadata: string }[]
  resolve(result: AppendResult): void
  reject(err: unknown): void
}

type Outcome = { result: AppendResult } | { err: ParleyError }

/**
 * The embedded event store on better-sqlite3. Appends are queued and committed in groups: all
 * appends requested in one turn of the event loop share one transaction, hence one fsync, and
 * each is still checked on its own (its expected revision against the database and the earlier
 * appends of the group), so a loser fails alone while the others commit. An event whose
 * caller-chosen id is already stored makes its append a no-op returning the first result: a
 * writer that timed out and retries cannot duplicate events.
 */
export function createSqliteEventStore(options: SqliteEventStoreOptions): EventStore {
  const log = options.logger ?? silentLogger
  const pageSize = options.pageSize ?? DEFAULT_SQLITE_PAGE_SIZE
  const db = openEventsDatabase(options.path)
  const sql = prepareStatements(db)
  const feed = createLiveFeed()
  let queue: PendingAppend[] = []
  let scheduled: NodeJS.Immediate | undefined
  let closed = false
  log.debug({ path: options.path }, 'event store opened')

  // Counts the events the current group wrote, for `onCommit`.
  let written = 0

  const appendOne = (append: PendingAppend, at: number, out?: RecordedEvent[]): AppendResult => {
    const { streamName, rows } = append
    const retried = findIdempotentResult(streamName, append.events, (id) => {
      const row = sql.findById.get(id)
      return row && { streamName: row.stream, revision: row.revision, position: row.position }
    })
    if (retried !== undefined) return retried

    const current = sql.streamRevision.get(streamName)
    checkExpectedRevision(streamName, append.expected, current)
    if (rows.length === 0) {
      return { nextExpectedRevision: current ?? -1n, position: sql.head.get() ?? 0n }
    }

    const category = categoryOf(streamName)
    let revision = current ?? -1n
    let position = 0n
    for (const { id, type, data, metadata } of rows) {
      revision += 1n
      const info = sql.insert.run(id, streamName, revision, type, data, metadata, at, category)
      position = BigInt(info.lastInsertRowid)
      const row = { id, type, data, metadata, stream: streamName, revision, position }
      out?.push(toRecordedEvent({ ...row, recorded_at: BigInt(at) }))
    }
    written += rows.length
    return { nextExpectedRevision: revision, position }
  }

  // Only a ParleyError (a lost race, a reused id) is that append's own failure; anything else
  // (a full disk, an I/O error) escapes, rolls the whole group back and fails every append in it.
  const commitGroup = db.transaction((group: PendingAppend[], out?: RecordedEvent[]) => {
    const at = Date.now()
    return group.map((append): Outcome => {
      try {
        return { result: appendOne(append, at, out) }
      } catch (err) {
        if (err instanceof ParleyError) return { err }
        throw err
      }
    })
  })

  const flush = (): void => {
    scheduled = undefined
    const group = queue
    queue = []
    if (group.length === 0) return

    // Live events are decoded only when someone listens: a store with no subscriber saves it.
    const committed: RecordedEvent[] | undefined = feed.hasListeners() ? [] : undefined
    let outcomes: Outcome[]
    written = 0
    try {
      // IMMEDIATE takes the write lock up front, so a second process writing the same file makes
      // this wait (busy timeout) instead of failing when a read lock is upgraded.
      outcomes = commitGroup.immediate(group, committed)
    } catch (err) {
      log.error({ err, appends: group.length }, 'group commit failed')
      for (const append of group) append.reject(err)
      return
    }

    if (committed !== undefined) feed.publish(committed)
    group.forEach((append, i) => {
      const outcome = outcomes[i]
      if ('result' in outcome) append.resolve(outcome.result)
      else append.reject(outcome.err)
    })
    // Last, so a throwing hook cannot leave a caller's append unsettled.
    options.onCommit?.({ appends: group.length, events: written })
  }

  const readPage = (after: bigint, categories?: readonly string[]): RecordedEvent[] => {
    if (closed) throw new StoreClosedError()
    let rows: EventRow[]
    if (categories === undefined) rows = sql.pageAll.all(after, pageSize)
    else if (categories.length === 1) rows = sql.pageCategory.all(categories[0], after, pageSize)
    else {
      // One indexed page per category merged here: SQLite cannot keep `category IN (...)` in
      // position order from the index, and would sort every later row of those categories.
      rows = [...new Set(categories)]
        .flatMap((category) => sql.pageCategory.all(category, after, pageSize))
        .sort((a, b) => (a.position < b.position ? -1 : 1))
        .slice(0, pageSize)
    }
    return rows.map(toRecordedEvent)
  }

  return {
    async appendToStream(streamName, events, appendOptions = {}) {
      if (closed) throw new StoreClosedError()
      checkDistinctIds(streamName, events)
      const rows = events.map((event) => ({
        id: event.id ?? randomUUID(),
        type: event.type,
        data: JSON.stringify(event.data ?? null),
        metadata: JSON.stringify(event.metadata ?? {}),
      }))

      return new Promise<AppendResult>((resolve, reject) => {
        const expected = appendOptions.expectedRevision ?? 'any'
        queue.push({ streamName, events, expected, rows, resolve, reject })
        scheduled ??= setImmediate(flush)
      })
    },

    async readStream(streamName, readOptions = {}) {
      if (closed) throw new StoreClosedError()
      return sql.readStream.all(streamName, readOptions.fromRevision ?? 0n).map(toRecordedEvent)
    },

    async *readAll(readOptions = {}) {
      let remaining = readOptions.maxCount ?? Infinity
      let after = readOptions.after ?? 0n
      while (remaining > 0) {
        const page = readPage(after, readOptions.categories)
        for (let i = 0; i < page.length && i < remaining; i++) yield page[i]
        remaining -= page.length
        if (page.length < pageSize) return
        after = page[page.length - 1].position
      }
    },

    subscribeToAll(subscribeOptions = {}) {
      const source = {
        readPage: (after: bigint) => readPage(after, subscribeOptions.categories),
        pageSize,
        feed,
        isClosed: () => closed,
      }
      return catchUpThenLive(source, subscribeOptions)
    },

    async prune({ category, type, recordedBefore, keepLatestBy }) {
      if (closed) throw new StoreClosedError()
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(keepLatestBy)) {
        throw new RangeError(`keepLatestBy must be a plain field name, got ${keepLatestBy}`)
      }
      // Positions never go back (AUTOINCREMENT), so a deleted event leaves a gap that readers
      // skip; the kept newest event per stream also keeps each stream's revision where it was.
      const info = db
        .prepare(
          `DELETE FROM events
           WHERE category = ? AND type = ? AND recorded_at < ?
             AND position NOT IN (
               SELECT MAX(position) FROM events WHERE category = ? AND type = ?
               GROUP BY stream, json_extract(data, '$.${keepLatestBy}'))`,
        )
        .run(category, type, recordedBefore, category, type)
      return info.changes
    },

    async headPosition() {
      if (closed) throw new StoreClosedError()
      return sql.head.get() ?? 0n
    },

    async close() {
      if (closed) return
      // Appends already accepted are committed, then nothing new is: a shutdown loses no write
      // that a caller may be awaiting.
      closed = true
      if (scheduled !== undefined) clearImmediate(scheduled)
      flush()
      feed.close()
      db.close()
      log.debug({ path: options.path }, 'event store closed')
    },
  }
}
