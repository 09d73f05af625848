import { randomUUID } from 'node:crypto'
import { type Logger, silentLogger } from '../logging/logger'
import { StoreClosedError, checkDistinctIds } from './append-rules'
import { catchUpThenLive } from './catch-up'
import { createLiveFeed } from './live-feed'
import { createPageCache } from './page-cache'
import type { AppendResult, EventStore, RecordedEvent } from './port'
import {
  type EventRow,
  openEventsDatabase,
  prepareStatements,
  toRecordedEvent,
} from './sqlite-schema'
import {
  type Writer,
  type WriterHandlers,
  DEFAULT_WRITER_MODE,
  WriterMode,
  startInlineWriter,
  startWorkerWriter,
} from './sqlite-writer'
import {
  type AppendOutcome,
  type EventRowIn,
  type WriteReply,
  type WriteRequest,
  deserializeError,
} from './sqlite-writer-protocol'

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
  /** Full catch-up pages kept per category filter for other subscribers; `DEFAULT_SHARED_PAGES`. */
  sharedPages?: number
  /** Where writes run; default `DEFAULT_WRITER_MODE` (a worker thread), `inline` for `:memory:`. */
  writer?: WriterMode
}

type Pending =
  | {
      kind: 'append'
      streamName: string
      rows: EventRowIn[]
      resolve(result: AppendResult): void
      reject(err: unknown): void
    }
  | { kind: 'prune'; resolve(count: number): void; reject(err: unknown): void }

/**
 * The embedded event store on better-sqlite3. Reads run on this thread's own connection; writes
 * go to a writer that owns the only write connection, by default on a worker thread, so commits
 * and their fsyncs never block the event loop. The writer commits in groups: everything that
 * arrived while its previous commit ran shares the next transaction, hence one fsync, and each
 * append is still checked on its own (its expected revision against the database and the earlier
 * appends of the group), so a loser fails alone while the others commit. An event whose
 * caller-chosen id is already stored makes its append a no-op returning the first result: a
 * writer that timed out and retries cannot duplicate events. Committed events are published to
 * the live feed before their appends resolve.
 */
export function createSqliteEventStore(options: SqliteEventStoreOptions): EventStore {
  const log = options.logger ?? silentLogger
  const pageSize = options.pageSize ?? DEFAULT_SQLITE_PAGE_SIZE
  const mode =
    options.writer ?? (options.path === ':memory:' ? WriterMode.Inline : DEFAULT_WRITER_MODE)
  if (mode === WriterMode.Worker && options.path === ':memory:') {
    throw new RangeError('a :memory: event store cannot write from a worker thread')
  }
  // Opened here first, so the file, its directory and the table exist before the writer starts.
  const db = openEventsDatabase(options.path)
  const sql = prepareStatements(db)
  const feed = createLiveFeed()
  const catchUpPages = createPageCache(pageSize, options.sharedPages)
  // Sent, not yet answered, in the order sent: the writer answers in that order.
  const pending: Pending[] = []
  let answered = 0
  let outbox: WriteRequest[] = []
  let sending = false
  let closed = false
  let closing: Promise<void> | undefined
  let broken: Error | undefined

  const take = (count: number): Pending[] => {
    const items = pending.slice(answered, answered + count)
    answered += count
    // Compact now and then rather than shift() per reply, which copies the array each time.
    if (answered > 1024 && answered * 2 > pending.length) {
      pending.splice(0, answered)
      answered = 0
    }
    return items
  }

  const recorded = (append: Pending & { kind: 'append' }, outcome: AppendOutcome, at: number) => {
    if (!outcome.ok || outcome.written === 0) return []
    const first = outcome.written - 1
    return append.rows.map(({ id, type, data, metadata }, i): RecordedEvent => ({
      id,
      streamName: append.streamName,
      revision: outcome.nextExpectedRevision - BigInt(first - i),
      position: outcome.position - BigInt(first - i),
      type,
      data: JSON.parse(data),
      metadata: metadata === '{}' ? {} : JSON.parse(metadata),
      recordedAt: at,
    }))
  }

  const committed = (reply: WriteReply & { kind: 'committed' }): void => {
    const appends = take(reply.outcomes.length) as (Pending & { kind: 'append' })[]
    // Live events are decoded only when someone listens: a store with no subscriber saves it.
    if (feed.hasListeners()) {
      const batch: RecordedEvent[] = []
      appends.forEach((append, i) => {
        for (const event of recorded(append, reply.outcomes[i], reply.recordedAt)) batch.push(event)
      })
      feed.publish(batch)
    }

    let events = 0
    appends.forEach((append, i) => {
      const outcome = reply.outcomes[i]
      if (!outcome.ok) return append.reject(deserializeError(outcome.error))
      events += outcome.written
      const { nextExpectedRevision, position } = outcome
      append.resolve({ nextExpectedRevision, position })
    })
    // Last, so a throwing hook cannot leave a caller's append unsettled.
    options.onCommit?.({ appends: appends.length, events })
  }

  const handlers: WriterHandlers = {
    reply(reply) {
      if (reply.kind === 'committed') return committed(reply)
      if (reply.kind === 'pruned')
        return (take(1)[0] as Pending & { kind: 'prune' }).resolve(reply.count)

      const err = deserializeError(reply.error)
      log.error({ err, appends: reply.count }, 'group commit failed')
      for (const item of take(reply.count)) item.reject(err)
    },
    failed(err) {
      if (broken !== undefined) return
      broken = err
      log.error({ err }, 'event store writer failed')
      for (const item of take(pending.length - answered)) item.reject(err)
      feed.fail(err)
    },
  }
  const writer: Writer =
    mode === WriterMode.Worker
      ? startWorkerWriter(options.path, handlers)
      : startInlineWriter(db, sql, handlers)
  log.debug({ path: options.path, writer: mode }, 'event store opened')

  // Everything requested in one synchronous run goes to the writer as one message.
  const send = (): void => {
    sending = false
    const requests = outbox
    outbox = []
    if (requests.length > 0) writer.send(requests)
  }

  const submit = (request: WriteRequest, item: Pending): void => {
    if (broken !== undefined) throw broken
    pending.push(item)
    outbox.push(request)
    if (sending) return
    sending = true
    queueMicrotask(send)
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
      const rows = events.map((event): EventRowIn => ({
        id: event.id ?? randomUUID(),
        chosen: event.id !== undefined,
        type: event.type,
        data: JSON.stringify(event.data ?? null),
        metadata: JSON.stringify(event.metadata ?? {}),
      }))

      return new Promise<AppendResult>((resolve, reject) => {
        const expected = appendOptions.expectedRevision ?? 'any'
        const request: WriteRequest = { kind: 'append', streamName, expected, rows }
        submit(request, { kind: 'append', streamName, rows, resolve, reject })
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
      const { categories } = subscribeOptions
      const source = {
        readPage: (after: bigint) =>
          catchUpPages.read(categories, after, () => readPage(after, categories)),
        pageSize,
        feed,
        isClosed: () => closed,
      }
      return catchUpThenLive(source, subscribeOptions)
    },

    async prune(pruneOptions) {
      if (closed) throw new StoreClosedError()
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(pruneOptions.keepLatestBy)) {
        const { keepLatestBy } = pruneOptions
        throw new RangeError(`keepLatestBy must be a plain field name, got ${keepLatestBy}`)
      }
      return new Promise<number>((resolve, reject) => {
        submit({ kind: 'prune', options: { ...pruneOptions } }, { kind: 'prune', resolve, reject })
      })
    },

    async headPosition() {
      if (closed) throw new StoreClosedError()
      return sql.head.get() ?? 0n
    },

    close() {
      // Appends already accepted are committed, then nothing new is: a shutdown loses no write
      // that a caller may be awaiting.
      closing ??= (async () => {
        closed = true
        send()
        await writer.close()
        feed.close()
        db.close()
        log.debug({ path: options.path }, 'event store closed')
      })()
      return closing
    },
  }
}
