import type { Test } from 'tap'
import type { Doc, ReadModelStore } from '../../../src/infra/readmodel/port'

/**
 * What every read-model store must do, whatever the backend: the queries, commits, resets and
 * index changes, and the rebuild support (generations, claims, switch-over, snapshots). Each
 * backend's test file runs it with a way to open stores over a fresh data space of its own.
 */
export interface ReadModelBackend {
  /**
   * Opens stores over one fresh, empty data space of test `t` (a file, a database); every call
   * opens another store over the same data, as a second process would. Each is closed in
   * `t.teardown`.
   */
  space(t: Test): Promise<() => ReadModelStore>
}

export const ORDERS = { name: 'orders', indexes: [['customer', 'placedAt'], ['status']] }
const SHADOW = { name: 'orders__shadow', indexes: ORDERS.indexes }
const swap = [{ live: 'orders', shadow: 'orders__shadow' }]

const order = (n: number, customer: string, status: string, extra: Doc = {}): Doc => ({
  n,
  customer,
  status,
  placedAt: 100 + n,
  ...extra,
})
const put = (collection: string, n: number, status = 'open') => ({
  collection,
  key: `o${n}`,
  doc: { n, customer: 'ann', status, placedAt: n },
})
const numbers = (docs: Doc[]): unknown[] => docs.map((d) => d.n)

/** A shadow claimed and filled with the given orders at `position`. */
async function givenShadow(store: ReadModelStore, ns: number[], position: bigint) {
  const generation = await store.claim('orders__shadow', ['orders__shadow'])
  await store.ensureCollections([SHADOW])
  const changes = ns.map((n) => put('orders__shadow', n, 'rebuilt'))
  await store.commit('orders__shadow', changes, position, { generation })
  return generation
}

/** Registers the conformance tests on `t`. */
export function readModelConformance(t: Test, backend: ReadModelBackend): void {
  const givenStore = async (t: Test): Promise<ReadModelStore> => {
    const store = (await backend.space(t))()
    await store.ensureCollections([ORDERS])
    return store
  }

  /** Two stores over one data space, as a server and a rebuild process hold them. */
  const givenTwoStores = async (t: Test) => {
    const open = await backend.space(t)
    const server = open()
    const rebuild = open()
    await server.ensureCollections([ORDERS])
    return { server, rebuild }
  }

  const givenOrders = async (t: Test): Promise<ReadModelStore> => {
    const store = await givenStore(t)
    const docs = [
      order(1, 'ann', 'open', { vip: true }),
      order(2, 'bob', 'open', { vip: false }),
      order(3, 'ann', 'closed', { note: null }),
      order(4, 'ann', 'open'),
      order(5, 'ann', 'open', { vip: true }),
    ]
    const changes = docs.map((doc) => ({ collection: 'orders', key: `o${doc.n}`, doc }))
    await store.commit('orders-projection', changes, 5n)
    return store
  }

  t.test('finds documents by equality, in key order by default', async (t) => {
    const store = await givenOrders(t)

    const found = await store.find({
      collection: 'orders',
      where: { customer: 'ann', status: 'open' },
    })

    t.same(numbers(found), [1, 4, 5])
  })

  t.test('combines equality, one range, an order and a limit', async (t) => {
    const store = await givenOrders(t)

    const found = await store.find({
      collection: 'orders',
      where: { customer: 'ann' },
      range: { field: 'placedAt', gt: 101, lte: 105 },
      orderBy: { field: 'placedAt', direction: 'desc' },
      limit: 2,
    })

    t.same(numbers(found), [5, 4])
  })

  t.test('a limit of zero finds nothing; a negative one is refused', async (t) => {
    const store = await givenOrders(t)

    t.same(await store.find({ collection: 'orders', limit: 0 }), [])
    await t.rejects(store.find({ collection: 'orders', limit: -1 }), /invalid limit/)
  })

  t.test('matches fields without an index, booleans and nulls', async (t) => {
    const store = await givenOrders(t)

    const vip = await store.find({ collection: 'orders', where: { vip: true } })
    const notVip = await store.find({ collection: 'orders', where: { vip: false } })
    const nullNote = await store.find({ collection: 'orders', where: { note: null } })

    t.same(numbers(vip), [1, 5])
    t.same(numbers(notVip), [2])
    t.same(numbers(nullNote), [1, 2, 3, 4, 5], 'a missing field reads as null')
  })

  t.test('gets one document or many by key, skipping missing keys', async (t) => {
    const store = await givenOrders(t)

    const many = await store.getMany('orders', ['o2', 'missing', 'o4'])

    t.same(await store.get('orders', 'o3'), order(3, 'ann', 'closed', { note: null }))
    t.equal(await store.get('orders', 'missing'), undefined)
    t.same([...many.keys()].sort(), ['o2', 'o4'])
  })

  t.test('gives the runner stamp back as it was written', async (t) => {
    const store = await givenStore(t)
    const doc = { n: 1, _pos: '18446744073709551615' }

    await store.commit('p', [{ collection: 'orders', key: 'o1', doc }], 7n)

    t.same(await store.get('orders', 'o1'), doc)
    t.same((await store.find({ collection: 'orders' }))[0], doc)
  })

  t.test('deletes a document given a null doc', async (t) => {
    const store = await givenOrders(t)

    await store.commit('orders-projection', [{ collection: 'orders', key: 'o1', doc: null }], 6n)

    t.equal(await store.get('orders', 'o1'), undefined)
    t.equal(await store.checkpoint('orders-projection'), 6n)
  })

  t.test(
    'commits all or nothing: a failing change leaves neither docs nor checkpoint',
    async (t) => {
      const store = await givenOrders(t)

      const failing = store.commit(
        'orders-projection',
        [
          { collection: 'orders', key: 'o9', doc: order(9, 'cy', 'open') },
          { collection: 'orders', key: 'o1', doc: null },
          { collection: 'no_such_collection', key: 'x', doc: { n: 0 } },
        ],
        9n,
      )

      await t.rejects(failing, /no such (table|collection)/)
      t.equal(await store.get('orders', 'o9'), undefined)
      t.match(await store.get('orders', 'o1'), { n: 1 })
      t.equal(await store.checkpoint('orders-projection'), 5n)
    },
  )

  t.test('refuses identifiers that are not plain names', async (t) => {
    const store = await givenOrders(t)

    await t.rejects(store.find({ collection: 'orders; DROP TABLE orders' }), /invalid/)
    await t.rejects(store.find({ collection: 'orders', where: { "x') OR 1=1 --": 1 } }), /invalid/)
    t.equal((await store.find({ collection: 'orders' })).length, 5)
  })

  t.test('reset empties the collections and forgets only that checkpoint', async (t) => {
    const store = await givenOrders(t)
    await store.commit('other-projection', [], 3n)

    await store.reset('orders-projection', ['orders', 'never_created'])

    t.same(await store.find({ collection: 'orders' }), [])
    t.equal(await store.checkpoint('orders-projection'), undefined)
    t.equal(await store.checkpoint('other-projection'), 3n)
  })

  t.test('adds an index on a new field to an existing collection', async (t) => {
    const store = await givenOrders(t)

    await store.ensureCollections([{ name: 'orders', indexes: [...ORDERS.indexes, ['n']] }])
    await store.ensureCollections([{ name: 'orders', indexes: [...ORDERS.indexes, ['n']] }])

    const found = await store.find({ collection: 'orders', range: { field: 'n', gte: 4 } })
    t.same(numbers(found), [4, 5])
  })

  t.test('keeps documents and checkpoint for a store opened later', async (t) => {
    const open = await backend.space(t)
    const first = open()
    await first.ensureCollections([ORDERS])
    await first.commit('p', [{ collection: 'orders', key: 'o1', doc: order(1, 'ann', 'open') }], 1n)
    await first.close()

    const reopened = open()
    await reopened.ensureCollections([ORDERS])

    t.match(await reopened.get('orders', 'o1'), { n: 1 })
    t.equal(await reopened.checkpoint('p'), 1n)
    t.same(numbers(await reopened.find({ collection: 'orders', where: { customer: 'ann' } })), [1])
  })

  t.test(
    'a commit under a stale generation writes nothing and names both generations',
    async (t) => {
      const { server, rebuild } = await givenTwoStores(t)
      await server.commit('orders', [put('orders', 1)], 1n, { generation: 0 })
      const generation = await givenShadow(rebuild, [1, 2], 2n)
      await rebuild.switchOver({
        projection: 'orders',
        shadow: { projection: 'orders__shadow', generation },
        collections: swap,
      })

      const stale = server.commit('orders', [put('orders', 9)], 3n, { generation: 0 })

      await t.rejects(stale, { code: 'read_model_generation_changed', expected: 0, actual: 1 })
      t.equal(await server.get('orders', 'o9'), undefined)
      t.same(await server.checkpointState('orders'), { position: 2n, generation: 1 })
    },
  )

  t.test('a commit without a generation is not checked, as before generations', async (t) => {
    const { server } = await givenTwoStores(t)

    await server.commit('orders', [put('orders', 1)], 1n)
    await server.commit('monitor', [], 7n)

    t.same(await server.checkpointState('orders'), { position: 1n, generation: 0 })
    t.same(await server.checkpointState('never-ran'), { position: undefined, generation: 0 })
    t.equal(await server.checkpoint('monitor'), 7n)
  })

  t.test(
    'a switch-over replaces the documents, moves the checkpoint and ends the claim',
    async (t) => {
      const { server, rebuild } = await givenTwoStores(t)
      await server.commit('orders', [put('orders', 1), put('orders', 5)], 5n)
      const generation = await givenShadow(rebuild, [1, 2, 3], 6n)

      const state = await rebuild.switchOver({
        projection: 'orders',
        shadow: { projection: 'orders__shadow', generation },
        collections: swap,
      })

      t.same(state, { position: 6n, generation: 1 })
      t.same(numbers(await server.find({ collection: 'orders' })), [1, 2, 3], 'seen by the server')
      const rebuilt = await server.find({ collection: 'orders', where: { status: 'rebuilt' } })
      t.same(numbers(rebuilt), [1, 2, 3])
      t.same(await server.checkpointState('orders__shadow'), {
        position: undefined,
        generation: generation + 1,
      })
      await t.rejects(server.get('orders__shadow', 'o1'), /no such (table|collection)/)
    },
  )

  t.test('a switch-over runs its final catch-up in the same transaction', async (t) => {
    const { server, rebuild } = await givenTwoStores(t)
    const generation = await givenShadow(rebuild, [1], 1n)
    let seenByServer: Doc | undefined

    await rebuild.switchOver({
      projection: 'orders',
      shadow: { projection: 'orders__shadow', generation },
      collections: swap,
      async beforeSwitch(tx) {
        await tx.commit('orders__shadow', [put('orders__shadow', 2)], 2n, { generation })
        seenByServer = await server.get('orders__shadow', 'o2')
      },
    })

    t.equal(seenByServer, undefined, 'nothing of the switch is visible before it commits')
    t.same(numbers(await server.find({ collection: 'orders' })), [1, 2])
    t.equal(await server.checkpoint('orders'), 2n)
  })

  t.test(
    'a failing final catch-up leaves the live collection and checkpoint as they were',
    async (t) => {
      const { server, rebuild } = await givenTwoStores(t)
      await server.commit('orders', [put('orders', 7)], 7n)
      const generation = await givenShadow(rebuild, [1], 1n)

      const switching = rebuild.switchOver({
        projection: 'orders',
        shadow: { projection: 'orders__shadow', generation },
        collections: swap,
        async beforeSwitch(tx) {
          await tx.commit('orders__shadow', [put('orders__shadow', 2)], 2n, { generation })
          throw new Error('event store gone')
        },
      })

      await t.rejects(switching, /event store gone/)
      t.same(numbers(await server.find({ collection: 'orders' })), [7])
      t.same(await server.checkpointState('orders'), { position: 7n, generation: 0 })
      t.equal(await rebuild.checkpoint('orders__shadow'), 1n)
    },
  )

  t.test('a second claim stops the first builder and its switch-over', async (t) => {
    const { server, rebuild } = await givenTwoStores(t)
    const first = await givenShadow(rebuild, [1], 1n)

    const second = await server.claim('orders__shadow', ['orders__shadow'])
    await server.ensureCollections([SHADOW])

    t.equal(second, first + 1)
    await t.rejects(
      rebuild.commit('orders__shadow', [put('orders__shadow', 2)], 2n, { generation: first }),
      { code: 'read_model_generation_changed' },
    )
    await t.rejects(
      rebuild.switchOver({
        projection: 'orders',
        shadow: { projection: 'orders__shadow', generation: first },
        collections: swap,
      }),
      { code: 'read_model_generation_changed' },
    )
    t.same(await server.find({ collection: 'orders__shadow' }), [], 'the new shadow is untouched')
    await t.rejects(server.claim('orders__shadow', ['orders__shadow'], { generation: first }))
  })

  t.test('a snapshot reads checkpoints and documents of one moment', async (t) => {
    const { server, rebuild } = await givenTwoStores(t)
    await server.commit('orders', [put('orders', 1)], 1n)

    const seen = await rebuild.snapshot(async (view) => {
      const before = await view.checkpoint('orders')
      await server.commit('orders', [put('orders', 2)], 2n)
      const docs = await view.entries('orders')
      return {
        before,
        keys: docs.map((entry) => entry.key),
        after: await view.checkpoint('orders'),
      }
    })

    t.same(seen, { before: 1n, keys: ['o1'], after: 1n })
    t.equal(await rebuild.checkpoint('orders'), 2n, 'the snapshot has ended')
  })

  t.test('lists entries with their keys in code point order, a page at a time', async (t) => {
    const { server } = await givenTwoStores(t)
    const keys = ['b', 'a', 'é', '\u{1F600}', '\uFF5E', 'B']
    await server.commit(
      'orders',
      keys.map((key, n) => ({ collection: 'orders', key, doc: { n } })),
      1n,
    )

    const first = await server.entries('orders', { limit: 4 })
    const rest = await server.entries('orders', { afterKey: first[3].key })

    t.same(
      [...first, ...rest].map((entry) => entry.key),
      ['B', 'a', 'b', 'é', '\uFF5E', '\u{1F600}'],
    )
    t.same(first[0], { key: 'B', doc: { n: 5 } })
  })
}
