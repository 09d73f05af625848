import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { ConcurrencyError } from '../../../src/domain/shared/errors'
import {
  type CommitBatch,
  type SqliteEventStoreOptions,
  createSqliteEventStore,
} from '../../../src/infra/eventstore/sqlite'
import { runEventStoreConformance } from './conformance'
import { events, newStream } from './fixture'

/** A temp directory of its own, removed in teardown, and a store path inside a missing subdir. */
function givenPath(t: tap.Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'data', 'events.db')
}

function givenSqliteStore(t: tap.Test, options: Omit<SqliteEventStoreOptions, 'path'> = {}) {
  const path = givenPath(t)
  const store = createSqliteEventStore({ path, ...options })
  t.teardown(() => store.close())
  return { store, path }
}

void runEventStoreConformance(t, 'SQLite event store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-'))
  return {
    open: async () => createSqliteEventStore({ path: join(dir, 'events.db') }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    durable: true,
    densePositions: true,
  }
})

t.test('commits the appends requested in one turn in a single transaction', async (t) => {
  // Given
  const commits: CommitBatch[] = []
  const { store } = givenSqliteStore(t, { onCommit: (batch) => commits.push(batch) })

  // When
  const results = await Promise.all(
    Array.from({ length: 50 }, () => store.appendToStream(newStream(), events(2))),
  )

  // Then
  t.same(commits, [{ appends: 50, events: 100 }])
  t.same(
    results.map((r) => r.position),
    Array.from({ length: 50 }, (_, i) => BigInt(2 * i + 2)),
  )
})

t.test('fails only the append whose expected revision went stale within its group', async (t) => {
  // Given
  const commits: CommitBatch[] = []
  const { store } = givenSqliteStore(t, { onCommit: (batch) => commits.push(batch) })
  const [stream, other] = [newStream(), newStream()]

  // When three appends share a group, the second racing the first for a new stream
  const [first, second, third, fourth] = await Promise.allSettled([
    store.appendToStream(stream, events(1), { expectedRevision: 'no_stream' }),
    store.appendToStream(stream, events(1), { expectedRevision: 'no_stream' }),
    store.appendToStream(other, events(1), { expectedRevision: 'no_stream' }),
    store.appendToStream(stream, events(1), { expectedRevision: 0n }),
  ])

  // Then the loser fails alone, and later appends see what earlier ones wrote in the group
  t.same(commits, [{ appends: 4, events: 3 }])
  t.match(first, { status: 'fulfilled', value: { nextExpectedRevision: 0n } })
  t.match(second, { status: 'rejected' })
  t.type((second as PromiseRejectedResult).reason, ConcurrencyError)
  t.match((second as PromiseRejectedResult).reason, { expected: 'no_stream', actual: '0' })
  t.match(third, { status: 'fulfilled', value: { nextExpectedRevision: 0n } })
  t.match(fourth, { status: 'fulfilled', value: { nextExpectedRevision: 1n } })
  t.equal(await store.headPosition(), 3n)
})

t.test('rejects an event JSON cannot hold without failing its neighbours', async (t) => {
  const { store } = givenSqliteStore(t)

  const [bad, good] = await Promise.allSettled([
    store.appendToStream(newStream(), [{ type: 'MessageSent', data: { size: 1n } }]),
    store.appendToStream(newStream(), events(1)),
  ])

  t.match(bad, { status: 'rejected', reason: TypeError })
  t.match(good, { status: 'fulfilled', value: { position: 1n } })
})

t.test('commits appends still queued when it closes', async (t) => {
  // Given an append not yet flushed
  const path = givenPath(t)
  const store = createSqliteEventStore({ path })
  const stream = newStream()
  const pending = store.appendToStream(stream, events(2))

  // When the store closes in the same turn
  await store.close()

  // Then the append resolved and a reopened store has it
  t.same(await pending, { nextExpectedRevision: 1n, position: 2n })
  const reopened = createSqliteEventStore({ path })
  t.teardown(() => reopened.close())
  t.equal((await reopened.readStream(stream)).length, 2)
})

t.test('creates the directory of its path and keeps the log in WAL mode', async (t) => {
  const { store, path } = givenSqliteStore(t)
  await store.appendToStream(newStream(), events(1))

  // journal_mode is stored in the file, so a second connection can check it.
  const raw = new Database(path, { readonly: true })
  t.teardown(() => raw.close())
  t.equal(raw.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(raw.prepare('SELECT count(*) FROM events').pluck().get(), 1)
})

void runEventStoreConformance(t, 'SQLite event store, inline writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-'))
  return {
    open: async () => createSqliteEventStore({ path: join(dir, 'events.db'), writer: 'inline' }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    durable: true,
  }
})

/** Counts the stored events from a connection of the test's own, blocking this thread. */
function countRowsBlocking(path: string, atLeast: number, ms: number): number {
  const raw = new Database(path, { readonly: true })
  const pause = new Int32Array(new SharedArrayBuffer(4))
  try {
    const count = raw.prepare('SELECT count(*) FROM events').pluck()
    const deadline = Date.now() + ms
    let seen = count.get() as number
    while (seen < atLeast && Date.now() < deadline) {
      Atomics.wait(pause, 0, 0, 5)
      seen = count.get() as number
    }
    return seen
  } finally {
    raw.close()
  }
}

t.test('commits from its writer thread while the main thread is blocked', async (t) => {
  // Given an append handed to the writer (its message leaves at the end of this turn)
  const { store, path } = givenSqliteStore(t)
  await store.appendToStream(newStream(), events(1))
  const pending = store.appendToStream(newStream(), events(2))
  await new Promise((resolve) => setImmediate(resolve))

  // When this thread never returns to its event loop, the events still reach the file
  t.equal(countRowsBlocking(path, 3, 10_000), 3, 'the writer committed without the main thread')
  t.same(await pending, { nextExpectedRevision: 1n, position: 3n })
})

t.test(
  'rejects a :memory: store with a worker writer, which could not see its database',
  async (t) => {
    t.throws(() => createSqliteEventStore({ path: ':memory:', writer: 'worker' }), RangeError)
  },
)

t.test(
  'indexes only the ids callers chose, and still finds a retried append by them',
  async (t) => {
    // Given one append with drawn ids and one with chosen ids
    const { store, path } = givenSqliteStore(t)
    const stream = newStream()
    await store.appendToStream(newStream(), events(2))
    const chosen = [{ id: randomUUID(), type: 'MessageSent', data: { n: 1 } }]
    const first = await store.appendToStream(stream, chosen)

    // When the chosen-id append is retried
    const retried = await store.appendToStream(stream, chosen)

    // Then it returns the first result, and only the chosen id is in the unique index
    t.same(retried, first)
    const raw = new Database(path, { readonly: true })
    t.teardown(() => raw.close())
    const flags = raw.prepare('SELECT chosen_id FROM events ORDER BY position').pluck().all()
    t.same(flags, [0, 0, 1])
    const indexed = raw.prepare(
      'SELECT count(*) FROM events INDEXED BY events_chosen_id WHERE id = ? AND chosen_id = 1',
    )
    t.equal(indexed.pluck().get(chosen[0].id), 1)
  },
)

t.test('keeps writing a file made with the older layout, where every id is unique', async (t) => {
  // Given a log created before chosen ids had their own index (user_version 0)
  const path = givenPath(t)
  mkdirSync(dirname(path), { recursive: true })
  const legacy = new Database(path)
  legacy.pragma('journal_mode = WAL')
  legacy.exec(`CREATE TABLE events (
    position INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL,
    revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL,
    recorded_at INTEGER NOT NULL, category TEXT NOT NULL, UNIQUE (stream, revision));
    CREATE INDEX events_category_position ON events (category, position);`)
  legacy.close()

  // When the store appends to it, once with drawn ids and twice with the same chosen ones
  const store = createSqliteEventStore({ path })
  t.teardown(() => store.close())
  const stream = newStream()
  const chosen = [{ id: randomUUID(), type: 'MessageSent', data: { n: 1 } }]
  await store.appendToStream(newStream(), events(1))
  const first = await store.appendToStream(stream, chosen)
  const retried = await store.appendToStream(stream, chosen)

  // Then both work and the retry writes nothing
  t.same(retried, first)
  t.equal(await store.headPosition(), 2n)
  t.equal((await store.readStream(stream))[0].id, chosen[0].id)
})
