import { randomUUID } from 'node:crypto'
import t from 'tap'
import { ConcurrencyError, ParleyError } from '../../../src/domain/shared/errors'
import { presenceStream } from '../../../src/domain/shared/streams'
import { EventIdConflictError, StoreClosedError } from '../../../src/infra/eventstore/append-rules'
import { StoreUnavailableError } from '../../../src/infra/eventstore/esdb/errors'
import { createEsdbEventStore } from '../../../src/infra/eventstore/esdb/esdb-event-store'
import { PARLEY_EVENT_ID_NAMESPACE } from '../../../src/infra/eventstore/esdb/event-codec'
import { DEFAULT_PRESENCE_MAX_AGE_SECONDS } from '../../../src/infra/eventstore/esdb/presence-max-age'
import { TAIL_SCAN_PAGE } from '../../../src/infra/eventstore/esdb/read-all'
import type { RecordedEvent } from '../../../src/infra/eventstore/port'
import { v5 as uuidv5 } from 'uuid'
import { record } from './await'
import type { SentEvent } from '../../support/esdb-double/streams-service'
import { givenEsdb } from './esdb-support'
import { events, newStream } from './fixture'

const readAll = async (
  store: { readAll: (o?: object) => AsyncIterable<RecordedEvent> },
  o = {},
) => {
  const read: RecordedEvent[] = []
  for await (const event of store.readAll(o)) read.push(event)
  return read
}

const presenceOf = (id: string) => presenceStream({ role: 'user', id })

for (const batchAppend of [false, true]) {
  const path = batchAppend ? 'BatchAppend' : 'Append'
  t.test(`turns a wrong expected version on ${path} into a ConcurrencyError`, async (t) => {
    const { double, store } = await givenEsdb(t, {}, { batchAppend })
    const stream = newStream()
    await store.appendToStream(stream, events(3))

    const stale = store.appendToStream(stream, events(1), { expectedRevision: 0n })
    const missing = store.appendToStream(newStream(), events(1), {
      expectedRevision: 'stream_exists',
    })
    const [err, absent] = await Promise.all([stale, missing].map((p) => p.catch((e: unknown) => e)))

    t.type(err, ConcurrencyError)
    t.match(err, { code: 'concurrency', streamName: stream, expected: '0', actual: '2' })
    t.equal((err as Error).constructor.name, 'ConcurrencyError', 'no client error leaks out')
    t.match(absent, { code: 'concurrency', expected: 'stream_exists', actual: 'no_stream' })
    t.ok(batchAppend ? double.calls.batchAppend > 0 : double.calls.append > 0, `through ${path}`)
    t.equal(batchAppend ? double.calls.append : double.calls.batchAppend, 0, 'and nothing else')
  })
}

t.test('rejects a retry whose ids were only partly stored as an id conflict', async (t) => {
  const { store } = await givenEsdb(t)
  const stream = newStream()
  const m1 = { id: `${stream}:m1`, type: 'MessageSent', data: { n: 1 } }
  await store.appendToStream(stream, [m1], { expectedRevision: 'no_stream' })

  const retry = store.appendToStream(stream, [m1, { ...m1, id: `${stream}:m2` }], {
    expectedRevision: 'no_stream',
  })

  await t.rejects(retry, EventIdConflictError)
  t.equal((await store.readStream(stream)).length, 1, 'nothing written')
})

t.test('fails calls on a server that went away with StoreUnavailableError', async (t) => {
  const { double, store } = await givenEsdb(t)
  await store.appendToStream(newStream(), events(1))

  await double.close()

  const err = await store.appendToStream(newStream(), events(1)).catch((e: unknown) => e)
  t.type(err, StoreUnavailableError)
  t.match(err, { code: 'store_unavailable', details: { operation: 'appendToStream' } })
  t.match(
    (err as Error).message,
    /^event store unavailable during appendToStream: .+/,
    "the message carries the client's reason, for the operator",
  )
  await t.rejects(store.headPosition(), StoreUnavailableError)
})

t.test('rejects every call once closed, and completes a subscription at once', async (t) => {
  const { store } = await givenEsdb(t)
  await store.close()

  await t.rejects(store.appendToStream(newStream(), events(1)), StoreClosedError)
  await t.rejects(store.readStream(newStream()), StoreClosedError)
  await t.rejects(readAll(store), StoreClosedError)
  await t.rejects(store.headPosition(), StoreClosedError)
  await record(store.subscribeToAll()).completed()
})

t.test('refuses a connection string the client cannot parse', async (t) => {
  t.throws(() => createEsdbEventStore({ connectionString: 'esdb://' }), ParleyError)
  t.throws(() => createEsdbEventStore({ connectionString: 'esdb://' }), { code: 'store_failed' })
})

t.test('filters reads and subscriptions of $all on the server', async (t) => {
  // Given streams of three categories, and the metadata stream of a presence stream
  const { double, store } = await givenEsdb(t)
  const [conversation, agent, presence] = [newStream(), newStream('agent'), presenceOf('u1')]
  await store.appendToStream(conversation, events(2))
  await store.appendToStream(agent, events(1))
  await store.appendToStream(presence, events(1))
  t.ok(double.log.stream(`$$${presence}`), 'the log holds a system stream to leave out')

  // When reading one category and the whole Parley log, and subscribing to one category
  const sentBefore = double.sentFromAll.length
  const agents = await readAll(store, { categories: ['agent'] })
  const agentsSent = double.sentFromAll.slice(sentBefore)
  const everything = await readAll(store)
  const subscriber = record(store.subscribeToAll({ categories: ['conversation'] }))
  await subscriber.received(2)
  await store.appendToStream(agent, events(1))
  await store.appendToStream(conversation, events(1))
  await subscriber.received(3)

  // Then the filtered calls brought only what matched: no other category, no system stream.
  // The unfiltered rest is the backwards scan of the tail that finds where a read ends.
  const filtered = (sent: readonly SentEvent[]) =>
    sent.filter((e) => e.filtered).map((e) => e.streamName)
  t.same(
    agents.map((e) => e.streamName),
    [agent],
  )
  t.same(filtered(agentsSent), [agent], 'the server sent the agent event alone')
  t.ok(agentsSent.length <= TAIL_SCAN_PAGE + 1, 'the tail scan stayed within a page')
  t.same(
    everything.map((e) => e.streamName),
    [conversation, conversation, agent, presence],
  )
  t.notOk(
    filtered(double.sentFromAll).some((name) => name.startsWith('$')),
    'no system event from a filtered call',
  )
  t.same(
    subscriber.values.map((e) => e.streamName),
    [conversation, conversation, conversation],
  )
})

t.test('ends a read of a quiet category at the head without scanning back to it', async (t) => {
  // Given one agent event, then 3000 events of another category written after it
  const { double, store } = await givenEsdb(t)
  const agent = await store.appendToStream(newStream('agent'), events(1))
  const presence = presenceOf('busy')
  for (let i = 0; i < 30; i++) await store.appendToStream(presence, events(100))
  const sentBefore = double.sentFromAll.length

  // When reading the agent category after its last event, as a projection's progress probe does
  const read = await readAll(store, { after: agent.position, categories: ['agent'], maxCount: 1 })

  // Then nothing matched, and the read ended without walking the 3000 events back to the agent
  // event: the head came from one page of the tail and the server's checkpoints did the rest.
  t.same(read, [])
  const unfiltered = double.sentFromAll.slice(sentBefore).filter((e) => !e.filtered)
  t.ok(unfiltered.length <= TAIL_SCAN_PAGE, `${unfiltered.length} events scanned on this side`)
})

t.test('reports the head of Parley streams, not of a metadata stream written after', async (t) => {
  const { double, store } = await givenEsdb(t)
  const appended = await store.appendToStream(presenceOf('u2'), events(1))

  t.equal(double.log.all().at(-1)?.streamName, `$$${presenceOf('u2')}`)
  t.equal(await store.headPosition(), appended.position)
})

t.test('finds the head behind a long run of system events in a few reads', async (t) => {
  // Given a Parley event followed by 2000 system events (statistics, projections' links)
  const { double, store } = await givenEsdb(t)
  const appended = await store.appendToStream(newStream(), events(1))
  for (let i = 0; i < 2_000; i++) {
    const raw = { id: randomUUID(), type: '$statsCollected', contentType: 'application/json' }
    double.log.append('$stats-127.0.0.1:2113', 'any', [
      { ...raw, data: Buffer.from('{}'), customMetadata: new Uint8Array() },
    ])
  }
  const readsBefore = double.calls.read

  const head = await store.headPosition()

  t.equal(head, appended.position)
  t.ok(double.calls.read - readsBefore <= 4, 'pages grow: 64, 256, 1024, 4096')
})

t.test('gives a presence stream a $maxAge once, on the append that creates it', async (t) => {
  const { double, store } = await givenEsdb(t)
  const presence = presenceOf(randomUUID())

  await store.appendToStream(presence, events(1))
  await store.appendToStream(presence, events(1))
  await store.appendToStream(newStream(), events(1))

  const metadata = double.log.stream(`$$${presence}`) ?? []
  t.equal(metadata.length, 1, 'set once')
  t.equal(metadata[0].type, '$metadata')
  t.same(JSON.parse(Buffer.from(metadata[0].data).toString('utf8')), {
    $maxAge: DEFAULT_PRESENCE_MAX_AGE_SECONDS,
  })
  t.equal(
    double.log.all().filter((e) => e.streamName.startsWith('$$')).length,
    1,
    'no metadata on other streams',
  )
})

t.test('sets a missing $maxAge on a presence stream that existed without it', async (t) => {
  // Given a presence stream written without metadata (a writer that crashed before setting it)
  const { double, open } = await givenEsdb(t, { presenceMaxAgeSeconds: 3600 })
  const presence = presenceOf(randomUUID())
  const raw = { id: randomUUID(), type: 'X', contentType: 'application/json' }
  double.log.append(presence, 'no_stream', [
    { ...raw, data: Buffer.from('{}'), customMetadata: new Uint8Array() },
  ])

  // When a store appends to it, twice, and a second store (another process) once more
  const store = open()
  await store.appendToStream(presence, events(1))
  await store.appendToStream(presence, events(1))
  await open().appendToStream(presence, events(1))

  // Then the age was written once, and found by the second store
  const metadata = double.log.stream(`$$${presence}`) ?? []
  t.equal(metadata.length, 1)
  t.same(JSON.parse(Buffer.from(metadata[0].data).toString('utf8')), { $maxAge: 3600 })
})

t.test('has no prune: the server expires presence events by $maxAge', async (t) => {
  const { store } = await givenEsdb(t)
  t.equal(store.prune, undefined)
})

t.test('makes a retry with an explicit revision and the same ids idempotent', async (t) => {
  const { double, store } = await givenEsdb(t)
  const stream = newStream()
  await store.appendToStream(stream, events(1))
  const batch = [randomUUID(), 'message-42'].map((id, n) => ({
    id,
    type: 'MessageSent',
    data: { n },
  }))

  const first = await store.appendToStream(stream, batch, { expectedRevision: 0n })
  const retry = await store.appendToStream(stream, batch, { expectedRevision: 0n })

  t.same(retry, first)
  t.same(
    (await store.readStream(stream)).map((e) => e.id).slice(1),
    batch.map((e) => e.id),
    'the caller ids read back',
  )
  t.same(
    (double.log.stream(stream) ?? []).map((e) => e.id).slice(1),
    [batch[0].id, uuidv5('message-42', PARLEY_EVENT_ID_NAMESPACE)],
    'stored once, under UUIDs: the given one, and a name-based one for a non-UUID id',
  )
})
