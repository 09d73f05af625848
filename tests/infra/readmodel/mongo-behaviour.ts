import type { Test } from 'tap'
import type { RecordedEvent } from '../../../src/infra/eventstore/port'
import type { ReadModelStore } from '../../../src/infra/readmodel/port'
import { projectBatch } from '../../../src/projections/batch'
import type { Projection } from '../../../src/projections/projection'
import { ORDERS } from './conformance'
import { mongoSpace } from './mongo-space'

/** Counts events per stream: each event reads and rewrites its stream's document. */
const counter: Projection = {
  name: 'counter',
  collections: [{ name: 'counts', indexes: [] }],
  categories: ['c'],
  reads: (event) => [{ collection: 'counts', key: event.streamName }],
  apply: (event, read) => {
    const n = Number(read('counts', event.streamName)?.n ?? 0) + 1
    return [{ collection: 'counts', key: event.streamName, doc: { n } }]
  },
}

const event = (position: number, streamName: string): RecordedEvent => ({
  id: `e${position.toString()}`,
  streamName,
  revision: 0n,
  position: BigInt(position),
  type: 'Counted',
  data: {},
  metadata: {},
  recordedAt: 0,
})
const events = (...streams: string[]) => streams.map((stream, i) => event(i + 1, stream))

const counts = async (store: ReadModelStore, ...keys: string[]) =>
  Promise.all(keys.map(async (key) => (await store.get('counts', key))?.n))

/** Waits until `check` holds, polling each turn; fails after `timeoutMs` saying `what`. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** The behaviour only the MongoDB adapter has: storage form, `_pos` rule, aliases, errors. */
export function mongoBehaviour(t: Test, url: () => string): void {
  t.test('stores the key as _id, _pos padded, and indexes closed by _id', async (t) => {
    const space = await mongoSpace(t, url())
    const store = space.open()
    await store.ensureCollections([ORDERS])
    await store.ensureCollections([ORDERS])

    await store.commit('p', [{ collection: 'orders', key: 'o1', doc: { n: 1, _pos: '42' } }], 42n)

    t.same(await space.db.collection('orders').findOne({}), {
      _id: 'o1',
      n: 1,
      _pos: '00000000000000000042',
    })
    const indexes = await space.db.collection('orders').listIndexes().toArray()
    t.same(
      indexes.map((index) => index.key),
      [{ _id: 1 }, { customer: 1, placedAt: 1, _id: 1 }, { status: 1, _id: 1 }],
      'created once, however often ensured',
    )
    t.match(await space.db.collection('checkpoints').findOne({ _id: 'p' as never }), {
      position: '00000000000000000042',
      generation: 0,
    })
  })

  t.test('replays a batch after a crash between documents and checkpoint once', async (t) => {
    const store = (await mongoSpace(t, url())).open()
    await store.ensureCollections(counter.collections)
    const batch = events('s1', 's1', 's2')
    const changes = await projectBatch(counter, store, batch)
    // The crash: the first document reached the store, the checkpoint did not.
    await store.commit('elsewhere', changes.slice(0, 1), 3n)

    const replayed = await projectBatch(counter, store, batch)
    await store.commit('counter', replayed, 3n)
    await store.commit('counter', changes, 3n)

    t.same(await counts(store, 's1', 's2'), [2, 1], 'each event counted once')
    t.equal(await store.checkpoint('counter'), 3n)
  })

  t.test('a change older than the stored document is not written', async (t) => {
    const store = (await mongoSpace(t, url())).open()
    await store.ensureCollections(counter.collections)
    const ahead = [{ collection: 'counts', key: 's1', doc: { n: 5, _pos: '5' } }]
    await store.commit('elsewhere', ahead, 5n)

    const older = [
      { collection: 'counts', key: 's1', doc: { n: 3, _pos: '3' } },
      { collection: 'counts', key: 's2', doc: { n: 1, _pos: '3' } },
    ]
    await store.commit('counter', older, 3n)

    t.same(await counts(store, 's1', 's2'), [5, 1])
  })

  t.test('a writer behind another leaves the later checkpoint and documents', async (t) => {
    const space = await mongoSpace(t, url())
    const [ahead, behind] = [space.open(), space.open()]
    await ahead.ensureCollections(counter.collections)
    const log = events('s1', 's2', 's1', 's1', 's2', 's1', 's2')
    const stale = await projectBatch(counter, behind, log.slice(0, 3))

    await ahead.commit('counter', await projectBatch(counter, ahead, log.slice(0, 5)), 5n)
    await behind.commit('counter', stale, 3n)
    t.same(await counts(ahead, 's1', 's2'), [3, 2], 'the stale batch changed nothing')
    t.equal(await ahead.checkpoint('counter'), 5n, 'the checkpoint did not move back')

    // The writer behind folds a batch over documents the other already moved past.
    await behind.commit('counter', await projectBatch(counter, behind, log), 7n)
    t.same(await counts(ahead, 's1', 's2'), [4, 3], 'as one writer alone would have it')
    t.equal(await ahead.checkpoint('counter'), 7n)
  })

  t.test('two writers committing one projection at once keep the later of both', async (t) => {
    const space = await mongoSpace(t, url())
    const [a, b] = [space.open(), space.open()]
    await a.ensureCollections(counter.collections)
    const stamped = (position: number) => [
      { collection: 'counts', key: 's', doc: { n: position, _pos: position.toString() } },
    ]

    const seen: unknown[] = []
    for (let round = 1; round <= 10; round++) {
      const [later, earlier] = [round * 2, round * 2 - 1]
      // The writer of the later batch sends first in odd rounds, second in even ones.
      const [x, y] = round % 2 === 1 ? [a, b] : [b, a]
      await Promise.all([
        x.commit('counter', stamped(later), BigInt(later)),
        y.commit('counter', stamped(earlier), BigInt(earlier)),
      ])
      seen.push([await b.checkpoint('counter'), ...(await counts(a, 's'))])
    }

    const expected = Array.from({ length: 10 }, (_, i) => [BigInt(i * 2 + 2), i * 2 + 2])
    t.same(seen, expected, 'each round ends at its later checkpoint and document')
  })

  t.test('readers see the old collection or the new one during a switch-over', async (t) => {
    const space = await mongoSpace(t, url())
    const [server, rebuild, reader] = [space.open(), space.open(), space.open()]
    await server.ensureCollections([ORDERS])
    const put = (collection: string, n: number, status: string) => ({
      collection,
      key: `o${n.toString()}`,
      doc: { n, status },
    })
    await server.commit(
      'orders',
      [1, 2, 3, 4].map((n) => put('orders', n, 'old')),
      4n,
    )
    const generation = await rebuild.claim('orders__shadow', ['orders__shadow'])
    await rebuild.ensureCollections([{ ...ORDERS, name: 'orders__shadow' }])
    const shadowDocs = [1, 2, 3].map((n) => put('orders__shadow', n, 'new'))
    await rebuild.commit('orders__shadow', shadowDocs, 5n, { generation })

    const seen = new Set<string>()
    let reads = 0
    let switched = false
    const reading = (async () => {
      for (let i = 0; i < 10_000 && !switched; i++) {
        const docs = await reader.find({ collection: 'orders' })
        seen.add(docs.map((doc) => `${String(doc.n)}${String(doc.status)}`).join(' '))
        reads++
      }
    })()
    await rebuild.switchOver({
      projection: 'orders',
      shadow: { projection: 'orders__shadow', generation },
      collections: [{ live: 'orders', shadow: 'orders__shadow' }],
      beforeSwitch: () => until(() => reads >= 3, 'reads during the switch'),
    })
    const after = reads
    await until(() => reads > after + 1, 'reads after the switch')
    switched = true
    await reading

    t.same([...seen].sort(), ['1new 2new 3new', '1old 2old 3old 4old'])
  })

  t.test('drops a replaced collection once its grace has passed', async (t) => {
    const space = await mongoSpace(t, url())
    const names = async () =>
      (await space.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort()
    const switchOnce = async (store: ReadModelStore) => {
      const generation = await store.claim('orders__shadow', ['orders__shadow'])
      await store.ensureCollections([{ ...ORDERS, name: 'orders__shadow' }])
      await store.switchOver({
        projection: 'orders',
        shadow: { projection: 'orders__shadow', generation },
        collections: [{ live: 'orders', shadow: 'orders__shadow' }],
      })
    }
    const patient = space.open()
    await patient.ensureCollections([ORDERS])

    await switchOnce(patient)
    t.ok((await names()).includes('orders'), 'still readable within the default grace')
    await switchOnce(space.open({ retiredGraceMs: 0 }))

    const left = (await names()).filter((name) => name.startsWith('orders'))
    t.equal(left.length, 1, `only the live physical collection is left: ${left.join(', ')}`)
    t.match(left[0], /^orders__shadow__[0-9a-f]{24}$/)
    t.same(await space.db.collection('retired_collections').find().toArray(), [])
  })

  t.test('an unreachable server fails with read_model_unavailable', async (t) => {
    const store = (await mongoSpace(t, url())).open({
      url: 'mongodb://127.0.0.1:1/?directConnection=true&serverSelectionTimeoutMS=300',
    })

    await t.rejects(store.get('orders', 'o1'), { code: 'read_model_unavailable' })
  })
}
