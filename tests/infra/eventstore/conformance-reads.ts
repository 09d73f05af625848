import type { EventStore, ReadAllOptions, RecordedEvent } from '../../../src/infra/eventstore/port'
import {
  type StoreFactory,
  checkPositions,
  events,
  fillLog,
  givenStore,
  mine,
  newCategory,
  newStream,
  positions,
  storedPositions,
} from './fixture'

const readAll = async (store: EventStore, options?: ReadAllOptions): Promise<RecordedEvent[]> => {
  const read: RecordedEvent[] = []
  for await (const event of store.readAll(options)) read.push(event)
  return read
}

/** Reading from the start of a log of its own exercises the read without `after`. */
const from = (base: bigint): ReadAllOptions => (base === 0n ? {} : { after: base })

/** The global log: one order for all streams, reads after a position, category filters. */
export async function readConformance(t: tap.Test, factory: StoreFactory): Promise<void> {
  t.test('orders the events of all streams by one global position', async (t) => {
    const { store, dense, ownLog, base } = await givenStore(t, factory)
    const [a, b] = [newStream(), newStream()]

    const results = [
      await store.appendToStream(a, events(2)),
      await store.appendToStream(b, events(1)),
      await store.appendToStream(a, events(1, 2)),
    ]

    const [streamA, streamB] = [await store.readStream(a), await store.readStream(b)]
    const truth = positions([streamA[0], streamA[1], streamB[0], streamA[2]])
    checkPositions(t, truth, { dense, from: base + 1n })
    t.same(
      results.map((r) => r.position),
      truth.slice(1),
    )
    const log = (await readAll(store, from(base))).filter(mine(ownLog, new Set([a, b])))
    t.same(positions(log), truth)
    t.same(
      log.map((e) => [e.streamName, e.revision]),
      [
        [a, 0n],
        [a, 1n],
        [b, 0n],
        [a, 2n],
      ],
    )
  })

  t.test('reads the log strictly after a position, from the first event to the tail', async (t) => {
    const { store, dense, ownLog, base } = await givenStore(t, factory)
    const stream = newStream()
    await store.appendToStream(stream, events(5))
    const p = positions(await store.readStream(stream))
    checkPositions(t, p, { dense, from: base + 1n })
    const read = async (options: ReadAllOptions) =>
      positions((await readAll(store, options)).filter(mine(ownLog, new Set([stream]))))

    t.same(await read(from(base)), p, 'from the first event')
    t.same(await read({ after: base }), p, 'after the head before the appends')
    t.same(await read({ after: p[0] }), p.slice(1), 'after the first')
    t.same(await read({ after: p[3] }), [p[4]], 'only the tail')
    t.same(await read({ after: p[4] }), [], 'nothing after the head')
    if (ownLog) {
      t.same(await read({ after: p[0], maxCount: 2 }), p.slice(1, 3), 'maxCount')
      t.same(await read({ maxCount: 1 }), [p[0]], 'the first event alone')
    }
  })

  t.test('pages through a log larger than one page without losing an event', async (t) => {
    const { store, dense, ownLog, base } = await givenStore(t, factory)
    const streams = await fillLog(store, 2_500)
    const truth = await storedPositions(store, streams)
    checkPositions(t, truth, { dense, from: base + 1n })

    const log = await readAll(store, { after: truth[9] })

    t.same(positions(log.filter(mine(ownLog, new Set(streams)))), truth.slice(10))
  })

  t.test('filters the log by stream category, the text before the first dash', async (t) => {
    const { store, dense, base } = await givenStore(t, factory)
    const [conversation, agent, presence] = ['conv', 'agent', 'presence'].map(newCategory)
    const appended = [
      await store.appendToStream(`${conversation}-a-1`, events(1)),
      await store.appendToStream(`${agent}-a-1`, events(1)),
      await store.appendToStream(presence, events(1)),
      await store.appendToStream(`${conversation}-b`, events(1)),
      await store.appendToStream(`${conversation}x-c`, events(1)),
    ]
    checkPositions(t, resultPositions(appended), { dense, from: base + 1n })

    const conversations = await readAll(store, { categories: [conversation] })
    const twoKinds = await readAll(store, { categories: [presence, agent] })
    const afterFirst = await readAll(store, {
      categories: [conversation],
      after: appended[0].position,
    })

    t.same(
      conversations.map((e) => e.streamName),
      [`${conversation}-a-1`, `${conversation}-b`],
    )
    t.same(
      twoKinds.map((e) => e.streamName),
      [`${agent}-a-1`, presence],
    )
    t.same(positions(afterFirst), [appended[3].position])
    t.same(await readAll(store, { categories: [] }), [], 'no category, no event')
  })

  t.test('reports the head position, 0 for an empty log', async (t) => {
    const { store, dense, ownLog, base } = await givenStore(t, factory)
    if (ownLog) t.equal(await store.headPosition(), 0n)

    const appended = await store.appendToStream(newStream(), events(3))

    const head = await store.headPosition()
    if (dense) t.equal(head, base + 3n)
    if (ownLog) t.equal(head, appended.position)
    else t.ok(head >= appended.position)
  })

  t.test('keeps what it committed, and its positions, across a restart', async (t) => {
    const { store, reopen, durable, dense, base } = await givenStore(t, factory)
    if (!durable)
      return t.plan(
        0,
        'the store is not durable: runs for the durable stores (SQLite, EventStoreDB)',
      )
    const stream = newStream()
    const before = await store.appendToStream(stream, events(3))

    await store.close()
    const reopened = await reopen()
    const next = await reopened.appendToStream(stream, events(1, 3), { expectedRevision: 2n })

    const read = await reopened.readStream(stream)
    t.equal(next.nextExpectedRevision, 3n)
    t.equal(read[2].position, before.position, 'positions kept')
    t.equal(next.position, read[3].position)
    checkPositions(t, positions(read), { dense, from: base + 1n })
    t.same(
      read.map((e) => e.data),
      [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }],
    )
  })
}

const resultPositions = (results: readonly { position: bigint }[]): bigint[] =>
  results.map((r) => r.position)
