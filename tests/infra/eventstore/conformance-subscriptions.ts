import { filter, type Observable } from 'rxjs'
import type { EventStore, RecordedEvent } from '../../../src/infra/eventstore/port'
import { record, within } from './await'
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

/** subscribeToAll: catch-up, then live, with no gap and no repeat at the hand-over. */
export async function subscriptionConformance(t: tap.Test, factory: StoreFactory): Promise<void> {
  /** A test's view of the log: on a shared log, only the streams it wrote. */
  const own = (ownLog: boolean, streams: Set<string>, source: Observable<RecordedEvent>) =>
    ownLog ? source : source.pipe(filter(mine(false, streams)))

  t.test('delivers stored events, then live ones, each once and in order', async (t) => {
    const { store, dense, ownLog, base } = await givenStore(t, factory)
    const [stored, live] = [newStream(), newStream()]
    await store.appendToStream(stored, events(10))

    const streams = new Set([stored, live])
    const subscriber = record(own(ownLog, streams, store.subscribeToAll({ after: base })))
    await subscriber.received(10)
    await store.appendToStream(live, events(5))

    const truth = await storedPositions(store, streams)
    checkPositions(t, truth, { dense, from: base + 1n })
    t.same(positions(await subscriber.received(15)), truth)
  })

  t.test('starts strictly after the given position', async (t) => {
    const { store, dense, ownLog, base } = await givenStore(t, factory)
    const stream = newStream()
    await store.appendToStream(stream, events(8))
    const truth = await storedPositions(store, [stream])
    checkPositions(t, truth, { dense, from: base + 1n })

    const subscriber = record(
      own(ownLog, new Set([stream]), store.subscribeToAll({ after: truth[4] })),
    )

    t.same(positions(await subscriber.received(3)), truth.slice(5))
  })

  t.test('filters by category while catching up and when live', async (t) => {
    const { store, dense, base } = await givenStore(t, factory)
    const [agent, conversation] = [newCategory('agent'), newCategory('conversation')]
    const first = await store.appendToStream(newStream(agent), events(1))
    await store.appendToStream(newStream(conversation), events(1))

    const subscriber = record(store.subscribeToAll({ categories: [agent] }))
    await store.appendToStream(newStream(conversation), events(1))
    const last = await store.appendToStream(newStream(agent), events(1))

    t.same(positions(await subscriber.received(2)), [first.position, last.position])
    if (dense) t.same([first.position, last.position], [base + 1n, base + 4n], 'dense positions')
  })

  t.test('hands over without gap or repeat while appends race the catch-up', async (t) => {
    // Given a log of several pages
    const { store, dense, ownLog, base } = await givenStore(t, factory)
    const streams = new Set(await fillLog(store, 5_000))
    const append = (count: number) => {
      const stream = newStream()
      streams.add(stream)
      return store.appendToStream(stream, events(count))
    }

    // When appends land while the subscription is still catching up: some fired from its own
    // handler at set points of the backlog, some from a writer running beside it
    const racing: Promise<unknown>[] = []
    const subscriber = record(
      own(ownLog, streams, store.subscribeToAll({ after: base })),
      (_, i) => {
        if (i < 5_000 && i % 250 === 0) racing.push(append(3))
      },
    )
    const writer = (async () => {
      for (let i = 0; i < 30; i++) await append(1)
    })()
    await subscriber.received(5_000)
    await Promise.all([writer, ...racing])
    // A last event marks the end: anything repeated before it would show in the count.
    const marker = await append(1)

    // Then every event arrives once, in position order
    const truth = await storedPositions(store, streams)
    t.equal(truth.length, 5_000 + 20 * 3 + 30 + 1)
    checkPositions(t, truth, { dense, from: base + 1n })
    if (ownLog) t.equal(await store.headPosition(), marker.position)
    t.same(positions(await subscriber.received(truth.length)), truth)
    t.equal(subscriber.values.length, truth.length)
  })

  t.test('keeps the order when a subscriber appends from its own handler', async (t) => {
    const { store, dense, ownLog, base } = await givenStore(t, factory)
    const pings = newStream()
    const streams = new Set([pings])
    const reacting = record(own(ownLog, streams, store.subscribeToAll({ after: base })), (e) => {
      if (e.type !== 'Ping') return
      const pong = newStream()
      streams.add(pong)
      void store.appendToStream(pong, events(1, 0, 'Pong'))
    })
    const watching = record(own(ownLog, streams, store.subscribeToAll({ after: base })))

    await store.appendToStream(pings, events(3, 0, 'Ping'))

    const seen = positions(await watching.received(6))
    const truth = await storedPositions(store, streams)
    checkPositions(t, truth, { dense, from: base + 1n })
    t.same(seen, truth)
    t.same(positions(await reacting.received(6)), truth)
  })

  t.test('stops delivering to a subscriber that unsubscribed', async (t) => {
    const { store, ownLog, base } = await givenStore(t, factory)
    const streams = new Set([newStream(), newStream()])
    const [first, second] = streams
    const leaving = record(own(ownLog, streams, store.subscribeToAll({ after: base })))
    const staying = record(own(ownLog, streams, store.subscribeToAll({ after: base })))
    await store.appendToStream(first, events(1))
    await leaving.received(1)

    leaving.unsubscribe()
    await store.appendToStream(second, events(1))

    await staying.received(2)
    t.equal(leaving.values.length, 1)
  })

  t.test('completes subscriptions, live or catching up, when the store closes', async (t) => {
    const { store, base } = await givenStore(t, factory)
    await fillLog(store, 3_000)
    const live = record(store.subscribeToAll({ after: await store.headPosition() }))
    const catchingUp = record(store.subscribeToAll({ after: base }))
    await catchingUp.received(1)

    await store.close()

    await live.completed()
    await catchingUp.completed()
    t.ok(catchingUp.values.length <= 3_000)
  })

  t.test('resumes after a restart from the last position it saw', async (t) => {
    const { store, reopen, durable, ownLog, base } = await givenStore(t, factory)
    if (!durable)
      return t.plan(
        0,
        'the store is not durable: runs for the durable stores (SQLite, EventStoreDB)',
      )
    const streams = new Set([newStream(), newStream()])
    const [before, after] = streams
    await store.appendToStream(before, events(20))
    const first = record(own(ownLog, streams, store.subscribeToAll({ after: base })))
    const seen = await first.received(12)
    const checkpoint = seen[seen.length - 1].position

    await store.close()
    const reopened: EventStore = await reopen()
    const resumed = record(own(ownLog, streams, reopened.subscribeToAll({ after: checkpoint })))
    await within('an append after the restart', reopened.appendToStream(after, events(5)))

    const truth = await storedPositions(reopened, streams)
    t.same(positions(await resumed.received(13)), truth.slice(12))
  })
}
