import type { Test } from 'tap'
import type { Doc, ReadModelStore } from '../../../src/infra/readmodel/port'
import { ORDERS, rebuildConformance } from './conformance-rebuild'
import { writersConformance } from './conformance-writers'

/**
 * What every read-model store must do, whatever the backend: the queries, commits, resets and
 * index changes, the rebuild support (generations, claims, switch-over, snapshots) and several
 * writers of one projection. Each backend's test file runs it with a way to open stores over a
 * fresh data space of its own.
 */
export interface ReadModelBackend {
  /**
   * Opens stores over one fresh, empty data space of test `t` (a file, a database); every call
   * opens another store over the same data, as a second process would. Each is closed in
   * `t.teardown`.
   */
  space(t: Test): Promise<() => ReadModelStore>
}

export { ORDERS }

const order = (n: number, customer: string, status: string, extra: Doc = {}): Doc => ({
  n,
  customer,
  status,
  placedAt: 100 + n,
  ...extra,
})
const numbers = (docs: Doc[]): unknown[] => docs.map((d) => d.n)

/** Registers the conformance tests on `t`. */
export function readModelConformance(t: Test, backend: ReadModelBackend): void {
  const givenStore = async (t: Test): Promise<ReadModelStore> => {
    const store = (await backend.space(t))()
    await store.ensureCollections([ORDERS])
    return store
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

  t.test('a range without bounds restricts nothing', async (t) => {
    const store = await givenOrders(t)

    const found = await store.find({
      collection: 'orders',
      where: { customer: 'ann' },
      range: { field: 'placedAt' },
      orderBy: { field: 'placedAt', direction: 'desc' },
    })

    t.same(numbers(found), [5, 4, 3, 1])
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

  rebuildConformance(t, backend)
  writersConformance(t, backend)
}
