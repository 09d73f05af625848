import t from 'tap'
import { firstValueFrom, Subject, toArray, take, type Observable } from 'rxjs'
import { SubscriptionDroppedError } from '../../../src/infra/eventstore/esdb/subscription'
import { StoreUnavailableError } from '../../../src/infra/eventstore/esdb/errors'
import type { RecordedEvent } from '../../../src/infra/eventstore/port'
import { followLog } from '../../../src/projections/follow-log'
import * as q from '../../../src/projections/queries'
import { conversationsProjection } from '../../../src/projections/readmodels/conversations'
import { messagesProjection } from '../../../src/projections/readmodels/messages'
import { append, givenReadModels, reached, run } from '../../projections/harness'
import { opened, sent, user } from '../../projections/fixture'
import { record, within } from './await'
import { givenEsdb, recordingLogger } from './esdb-support'
import { events, newStream, positions, storedPositions } from './fixture'

/** The error a subscription ends with; fails the test if it completes or runs on. */
const failureOf = (source: Observable<unknown>): Promise<unknown> =>
  within(
    'the subscription failing',
    new Promise((resolve, reject) => {
      source.subscribe({
        error: resolve,
        complete: () => reject(new Error('the subscription completed instead of failing')),
      })
    }),
  )

t.test('fails a subscription the server dropped with StoreUnavailableError', async (t) => {
  const { double, store } = await givenEsdb(t)
  const subscriber = record(store.subscribeToAll())
  await store.appendToStream(newStream(), events(1))
  await subscriber.received(1)
  const failed = failureOf(store.subscribeToAll())
  await record(store.subscribeToAll()).received(1)

  t.equal(double.dropSubscriptions(), 3)

  t.type(await failed, StoreUnavailableError)
  await t.rejects(subscriber.completed(), StoreUnavailableError)
})

t.test('fails a subscription the server ended unasked, so its caller resubscribes', async (t) => {
  const { double, store } = await givenEsdb(t)
  await store.appendToStream(newStream(), events(2))
  const subscriber = record(store.subscribeToAll())
  const seen = await subscriber.received(2)
  const failed = failureOf(store.subscribeToAll({ after: seen[1].position }))
  await record(store.subscribeToAll()).received(2)

  double.dropSubscriptions('end')

  const err = await failed
  t.type(err, SubscriptionDroppedError)
  t.match(err, { code: 'subscription_dropped', details: { after: String(seen[1].position) } })
})

t.test('followLog resubscribes after each drop from the last event it handled', async (t) => {
  // Given a process manager following conversations over the adapter
  const { double, store } = await givenEsdb(t)
  const { logger, lines } = recordingLogger()
  const handled = new Subject<RecordedEvent>()
  const all = firstValueFrom(handled.pipe(take(9), toArray()))
  const [first, second, third] = [newStream(), newStream(), newStream()]
  await store.appendToStream(first, events(3))
  const follower = followLog(
    store,
    { after: 0n, categories: ['conversation'] },
    (e) => handled.next(e),
    logger,
  )
  t.teardown(() => follower.unsubscribe())
  const seen = record(handled)

  // When the server drops its subscription twice, with appends around each drop
  await seen.received(3)
  double.dropSubscriptions()
  await store.appendToStream(second, events(3))
  await seen.received(6)
  double.dropSubscriptions('end')
  await store.appendToStream(third, events(3))

  // Then it handled every event once, in log order, and logged each resubscription
  const got = await within('nine handled events', all)
  t.same(positions(got), await storedPositions(store, [first, second, third]))
  t.equal(lines.filter((l) => l.msg === 'log subscription failed, resubscribing').length, 2)
})

t.test('keeps read models complete when the runner resubscribes after a drop', async (t) => {
  // Given projections running over the adapter, caught up with a conversation's first message
  const { double, store } = await givenEsdb(t)
  const readModels = givenReadModels(t)
  const projections = [conversationsProjection, messagesProjection]
  const runners = run(t, store, { readModels, projections })
  await Promise.all(runners.map((r) => r.ready))
  await reached(runners, await append(store, [opened('c1', 'u1'), sent('c1', 1, user('u1'))]))

  // When the server drops their subscriptions and more messages follow
  t.equal(double.dropSubscriptions(), projections.length)
  const last = await append(store, [sent('c1', 2, user('u1')), sent('c1', 3, user('u1'))])

  // Then they resubscribe from their checkpoints and miss nothing
  await reached(runners, last)
  const seqs = (await q.listMessages(readModels, 'c1', { afterSeq: 0 })).map((m) => m.seq)
  t.same(seqs, [1, 2, 3])
  t.match(await q.getConversation(readModels, 'c1'), { lastSeq: 3 })
})
