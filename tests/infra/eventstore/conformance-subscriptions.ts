import type { RecordedEvent } from '../../../src/infra/eventstore/port'
import { record, within } from './await'
import { type StoreFactory, consecutive, events, fillLog, givenStore, newStream } from './fixture'

const positions = (read: RecordedEvent[]): bigint[] => read.map((e) => e.position)

/** subscribeToAll: catch-up, then live, with no gap and no repeat at the hand-over. */
export async function subscriptionConformance(t: tap.Test, factory: StoreFactory): Promise<void> {
  t.test('delivers stored events, then live ones, each once and in order', async (t) => {
    const { store } = await givenStore(t, factory)
    await store.appendToStream(newStream(), events(10))

    const subscriber = record(store.subscribeToAll())
    await subscriber.received(10)
    await store.appendToStream(newStream(), events(5))

    t.same(positions(await subscriber.received(15)), consecutive(15))
  })

  t.test('starts strictly after the given position', async (t) => {
    const { store } = await givenStore(t, factory)
    await store.appendToStream(newStream(), events(8))

    const subscriber = record(store.subscribeToAll({ after: 5n }))

    t.same(positions(await subscriber.received(3)), [6n, 7n, 8n])
  })

  t.test('filters by category while catching up and when live', async (t) => {
    const { store } = await givenStore(t, factory)
    await store.appendToStream(newStream('agent'), events(1))
    await store.appendToStream(newStream('conversation'), events(1))

    const subscriber = record(store.subscribeToAll({ categories: ['agent'] }))
    await store.appendToStream(newStream('conversation'), events(1))
    await store.appendToStream(newStream('agent'), events(1))

    t.same(positions(await subscriber.received(2)), [1n, 4n])
  })

  t.test('hands over without gap or repeat while appends race the catch-up', async (t) => {
    // Given a log of several pages
    const { store } = await givenStore(t, factory)
    await fillLog(store, 5_000)

    // When appends land while the subscription is still catching up: some fired from its own
    // handler at set points of the backlog, some from a writer running beside it
    const racing: Promise<unknown>[] = []
    const subscriber = record(store.subscribeToAll(), (_, index) => {
      if (index < 5_000 && index % 250 === 0) {
        racing.push(store.appendToStream(newStream(), events(3)))
      }
    })
    const writer = (async () => {
      for (let i = 0; i < 30; i++) await store.appendToStream(newStream(), events(1))
    })()
    await subscriber.received(5_000)
    await Promise.all([writer, ...racing])
    // A last event marks the end: anything repeated before it would show in the count.
    await store.appendToStream(newStream(), events(1))
    const head = Number(await store.headPosition())

    // Then every event arrives once, in position order
    t.equal(head, 5_000 + 20 * 3 + 30 + 1)
    t.same(positions(await subscriber.received(head)), consecutive(head))
    t.equal(subscriber.values.length, head)
  })

  t.test('keeps the order when a subscriber appends from its own handler', async (t) => {
    const { store } = await givenStore(t, factory)
    const reacting = record(store.subscribeToAll(), (event) => {
      if (event.type === 'Ping') void store.appendToStream(newStream(), events(1, 0, 'Pong'))
    })
    const watching = record(store.subscribeToAll())

    await store.appendToStream(newStream(), events(3, 0, 'Ping'))

    t.same(positions(await watching.received(6)), consecutive(6))
    t.same(positions(await reacting.received(6)), consecutive(6))
  })

  t.test('stops delivering to a subscriber that unsubscribed', async (t) => {
    const { store } = await givenStore(t, factory)
    const leaving = record(store.subscribeToAll())
    const staying = record(store.subscribeToAll())
    await store.appendToStream(newStream(), events(1))
    await leaving.received(1)

    leaving.unsubscribe()
    await store.appendToStream(newStream(), events(1))

    await staying.received(2)
    t.equal(leaving.values.length, 1)
  })

  t.test('completes subscriptions, live or catching up, when the store closes', async (t) => {
    const { store } = await givenStore(t, factory)
    await fillLog(store, 3_000)
    const live = record(store.subscribeToAll({ after: 3_000n }))
    const catchingUp = record(store.subscribeToAll())
    await catchingUp.received(1)

    await store.close()

    await live.completed()
    await catchingUp.completed()
    t.ok(catchingUp.values.length <= 3_000)
  })

  t.test('resumes after a restart from the last position it saw', async (t) => {
    const { store, reopen, durable } = await givenStore(t, factory)
    if (!durable) return t.plan(0, 'the store is not durable')
    await store.appendToStream(newStream(), events(20))
    const before = record(store.subscribeToAll())
    const seen = await before.received(12)
    const checkpoint = seen[seen.length - 1].position

    await store.close()
    const reopened = await reopen()
    const after = record(reopened.subscribeToAll({ after: checkpoint }))
    await within('an append after the restart', reopened.appendToStream(newStream(), events(5)))

    t.same(positions(await after.received(13)), consecutive(13, 13n))
  })
}
