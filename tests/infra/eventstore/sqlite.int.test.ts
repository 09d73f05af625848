import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
