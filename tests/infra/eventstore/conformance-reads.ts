import type { EventStore, ReadAllOptions, RecordedEvent } from '../../../src/infra/eventstore/port'
import { type StoreFactory, consecutive, events, fillLog, givenStore, newStream } from './fixture'

const readAll = async (store: EventStore, options?: ReadAllOptions): Promise<RecordedEvent[]> => {
  const read: RecordedEvent[] = []
  for await (const event of store.readAll(options)) read.push(event)
  return read
}

const positions = (read: RecordedEvent[]): bigint[] => read.map((e) => e.position)

/** The global log: one order for all streams, reads after a position, category filters. */
export async function readConformance(t: tap.Test, factory: StoreFactory): Promise<void> {
  t.test('orders the events of all streams by one global position', async (t) => {
    const { store } = await givenStore(t, factory)
    const [a, b] = [newStream(), newStream()]

    const results = [
      await store.appendToStream(a, events(2)),
      await store.appendToStream(b, events(1)),
      await store.appendToStream(a, events(1, 2)),
    ]

    t.same(
      results.map((r) => r.position),
      [2n, 3n, 4n],
    )
    const log = await readAll(store)
    t.same(positions(log), consecutive(4))
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

  t.test('reads the log strictly after a position', async (t) => {
    const { store } = await givenStore(t, factory)
    await store.appendToStream(newStream(), events(5))

    t.same(positions(await readAll(store, { after: 0n })), consecutive(5), 'from the first event')
    t.same(positions(await readAll(store, { after: 1n })), consecutive(4, 2n), 'after the first')
    t.same(positions(await readAll(store, { after: 4n })), [5n], 'only the tail')
    t.same(await readAll(store, { after: 5n }), [], 'nothing after the head')
    t.same(positions(await readAll(store, { after: 1n, maxCount: 2 })), [2n, 3n], 'maxCount')
  })

  t.test('pages through a log larger than one page without losing an event', async (t) => {
    const { store } = await givenStore(t, factory)
    await fillLog(store, 2_500)

    const log = await readAll(store, { after: 10n })

    t.same(positions(log), consecutive(2_490, 11n))
  })

  t.test('filters the log by stream category, the text before the first dash', async (t) => {
    const { store } = await givenStore(t, factory)
    await store.appendToStream('conversation-a-1', events(1))
    await store.appendToStream('agent-a-1', events(1))
    await store.appendToStream('presence', events(1))
    await store.appendToStream('conversation-b', events(1))

    const conversations = await readAll(store, { categories: ['conversation'] })
    const twoKinds = await readAll(store, { categories: ['presence', 'agent'] })
    const afterFirst = await readAll(store, { categories: ['conversation'], after: 1n })

    t.same(
      conversations.map((e) => e.streamName),
      ['conversation-a-1', 'conversation-b'],
    )
    t.same(
      twoKinds.map((e) => e.streamName),
      ['agent-a-1', 'presence'],
    )
    t.same(
      afterFirst.map((e) => e.position),
      [4n],
    )
  })

  t.test('reports the head position, 0 for an empty log', async (t) => {
    const { store } = await givenStore(t, factory)
    t.equal(await store.headPosition(), 0n)

    await store.appendToStream(newStream(), events(3))

    t.equal(await store.headPosition(), 3n)
  })

  t.test('keeps what it committed, and its positions, across a restart', async (t) => {
    const { store, reopen, durable } = await givenStore(t, factory)
    if (!durable) return t.plan(0, 'the store is not durable')
    const stream = newStream()
    await store.appendToStream(stream, events(3))

    await store.close()
    const reopened = await reopen()
    const next = await reopened.appendToStream(stream, events(1, 3), { expectedRevision: 2n })

    t.same(next, { nextExpectedRevision: 3n, position: 4n })
    t.same(
      (await reopened.readStream(stream)).map((e) => e.data),
      [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }],
    )
  })
}
