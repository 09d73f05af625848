import { ConcurrencyError } from '../../../src/domain/shared/errors'
import { EventIdConflictError, StoreClosedError } from '../../../src/infra/eventstore/append-rules'
import type { ExpectedRevision } from '../../../src/infra/eventstore/port'
import { readConformance } from './conformance-reads'
import { subscriptionConformance } from './conformance-subscriptions'
import {
  type StoreFactory,
  checkPositions,
  events,
  givenStore,
  newStream,
  positions,
} from './fixture'

export type { StoreFactory, StoreFixture } from './fixture'

/**
 * The behaviour every EventStore adapter owes the rest of Parley. Each adapter's test file runs
 * it with a factory of fresh stores; restart tests run only for durable ones.
 */
export async function runEventStoreConformance(
  t: tap.Test,
  name: string,
  factory: StoreFactory,
): Promise<void> {
  await t.test(`${name} conformance`, async (t) => {
    await t.test('appends', (t) => appendConformance(t, factory))
    await t.test('reads', (t) => readConformance(t, factory))
    await t.test('subscriptions', (t) => subscriptionConformance(t, factory))
  })
}

async function appendConformance(t: tap.Test, factory: StoreFactory): Promise<void> {
  t.test('appends events and reads them back in revision order', async (t) => {
    const { store, dense, base } = await givenStore(t, factory)
    const stream = newStream()

    const first = await store.appendToStream(stream, events(2))
    const second = await store.appendToStream(stream, [
      { type: 'MessageAcknowledged', data: { n: 2 }, metadata: { userId: 'u1' } },
    ])

    const read = await store.readStream(stream)
    checkPositions(t, positions(read), { dense, from: base + 1n })
    t.same(first, { nextExpectedRevision: 1n, position: read[1].position })
    t.same(second, { nextExpectedRevision: 2n, position: read[2].position })
    t.same(
      read.map((e) => [e.revision, e.type, e.data, e.streamName]),
      [
        [0n, 'MessageSent', { n: 0 }, stream],
        [1n, 'MessageSent', { n: 1 }, stream],
        [2n, 'MessageAcknowledged', { n: 2 }, stream],
      ],
    )
    t.same(read[0].metadata, {})
    t.same(read[2].metadata, { userId: 'u1' })
    t.equal(new Set(read.map((e) => e.id)).size, 3, 'each event gets an id of its own')
    t.ok(read.every((e) => typeof e.recordedAt === 'number' && e.recordedAt > 0))
  })

  t.test('reads a stream from a revision, and an unknown stream as empty', async (t) => {
    const { store } = await givenStore(t, factory)
    const stream = newStream()
    await store.appendToStream(stream, events(5))

    const tail = await store.readStream(stream, { fromRevision: 3n })

    t.same(
      tail.map((e) => e.revision),
      [3n, 4n],
    )
    t.same(await store.readStream(newStream()), [])
  })

  t.test('keeps a copy of the data, not the caller object', async (t) => {
    const { store } = await givenStore(t, factory)
    const stream = newStream()
    const data = { text: 'hello' }

    await store.appendToStream(stream, [{ type: 'MessageSent', data }])
    data.text = 'changed'

    t.same((await store.readStream(stream))[0].data, { text: 'hello' })
  })

  const cases: [string, ExpectedRevision, 'empty' | 'at 1', true | string][] = [
    ['no_stream accepts a stream that does not exist', 'no_stream', 'empty', true],
    ['no_stream rejects a stream that exists', 'no_stream', 'at 1', '1'],
    ['stream_exists rejects a stream that does not exist', 'stream_exists', 'empty', 'no_stream'],
    ['stream_exists accepts a stream that exists', 'stream_exists', 'at 1', true],
    ['an exact revision accepts the current one', 1n, 'at 1', true],
    ['an exact revision rejects a stale one', 0n, 'at 1', '1'],
    ['an exact revision rejects a stream that does not exist', 0n, 'empty', 'no_stream'],
    ['any accepts a stream that does not exist', 'any', 'empty', true],
    ['any accepts a stream that exists', 'any', 'at 1', true],
  ]
  for (const [title, expected, given, outcome] of cases) {
    t.test(`expected revision: ${title}`, async (t) => {
      // Given
      const { store } = await givenStore(t, factory)
      const stream = newStream()
      if (given === 'at 1') await store.appendToStream(stream, events(2))

      // When
      const append = store.appendToStream(stream, events(1, 9), { expectedRevision: expected })

      // Then
      if (outcome === true) {
        const result = await append
        t.equal(result.nextExpectedRevision, given === 'empty' ? 0n : 2n)
        return
      }
      const err = await append.catch((e: unknown) => e)
      t.type(err, ConcurrencyError)
      t.match(err, { code: 'concurrency', streamName: stream, expected: String(expected) })
      t.equal((err as ConcurrencyError).actual, outcome)
      t.equal((await store.readStream(stream)).length, given === 'empty' ? 0 : 2, 'nothing written')
    })
  }

  t.test(
    'lets exactly one of two racing writers with the same expected revision win',
    async (t) => {
      const { store } = await givenStore(t, factory)
      const stream = newStream()
      await store.appendToStream(stream, events(1))

      const results = await Promise.allSettled([
        store.appendToStream(stream, events(1, 1), { expectedRevision: 0n }),
        store.appendToStream(stream, events(1, 2), { expectedRevision: 0n }),
      ])

      const won = results.filter((r) => r.status === 'fulfilled')
      const lost = results.filter((r) => r.status === 'rejected')
      t.equal(won.length, 1)
      t.equal(lost.length, 1)
      t.type(lost[0].reason, ConcurrencyError)
      t.match(lost[0].reason, { expected: '0', actual: '1' })
      t.equal((await store.readStream(stream)).length, 2)
    },
  )

  t.test('makes a retried append with the same event ids return the first result', async (t) => {
    const { store, ownLog } = await givenStore(t, factory)
    const stream = newStream()
    const batch = [
      { id: `${stream}:m1`, type: 'MessageSent', data: { n: 1 } },
      { id: `${stream}:m2`, type: 'MessageSent', data: { n: 2 } },
    ]
    const first = await store.appendToStream(stream, batch, { expectedRevision: 'no_stream' })

    // The retry carries the expected revision of the first try, now stale: still no error.
    const retry = await store.appendToStream(stream, batch, { expectedRevision: 'no_stream' })

    t.same(retry, first)
    t.same(
      (await store.readStream(stream)).map((e) => e.id),
      [`${stream}:m1`, `${stream}:m2`],
    )
    if (ownLog) t.equal(await store.headPosition(), first.position, 'nothing else was written')
  })

  t.test('rejects an event id reused twice in one append, or in another stream', async (t) => {
    const { store, ownLog, globalEventIds } = await givenStore(t, factory)
    const [stream, other] = [newStream(), newStream()]
    const fixedId = `fixed-${stream}`
    const stored = await store.appendToStream(stream, [
      { id: fixedId, type: 'MessageSent', data: {} },
    ])

    const twice = store.appendToStream(newStream(), [
      { id: 'twice', type: 'X', data: {} },
      { id: 'twice', type: 'X', data: {} },
    ])
    await t.rejects(twice, EventIdConflictError)
    const elsewhere = store.appendToStream(other, [{ id: fixedId, type: 'X', data: {} }])

    if (globalEventIds) {
      await t.rejects(elsewhere, EventIdConflictError)
      if (ownLog) t.equal(await store.headPosition(), stored.position, 'nothing else was written')
      return
    }
    // A store whose ids are unique per stream only (EventStoreDB) keeps both events.
    const written = await elsewhere
    t.same(
      (await store.readStream(other)).map((e) => [e.id, e.position]),
      [[fixedId, written.position]],
    )
    t.same(
      (await store.readStream(stream)).map((e) => e.id),
      [fixedId],
    )
  })

  t.test('rejects an append whose data JSON cannot hold, writing none of it', async (t) => {
    const { store, ownLog, base } = await givenStore(t, factory)
    const stream = newStream()

    const append = store.appendToStream(stream, [
      { type: 'MessageSent', data: { n: 0 } },
      { type: 'MessageSent', data: { size: 1n } },
    ])

    await t.rejects(append, TypeError)
    t.same(await store.readStream(stream), [])
    if (ownLog) t.equal(await store.headPosition(), base)
  })

  t.test('checks the expected revision of an empty append and writes nothing', async (t) => {
    const { store, ownLog } = await givenStore(t, factory)
    const stream = newStream()
    const appended = await store.appendToStream(stream, events(2))

    const empty = await store.appendToStream(stream, [], { expectedRevision: 1n })
    const stale = store.appendToStream(stream, [], { expectedRevision: 0n })

    t.equal(empty.nextExpectedRevision, 1n)
    await t.rejects(stale, ConcurrencyError)
    if (ownLog) {
      t.equal(empty.position, appended.position, 'the head')
      t.equal(await store.headPosition(), appended.position)
    } else t.ok(empty.position >= appended.position, 'at or past the head')
  })

  t.test('rejects appends once closed', async (t) => {
    const { store } = await givenStore(t, factory)
    await store.close()

    await t.rejects(store.appendToStream(newStream(), events(1)), StoreClosedError)
  })
}
