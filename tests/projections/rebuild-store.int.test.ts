import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import type { Doc, ReadModelStore } from '../../src/infra/readmodel/port'
import { createSqliteReadModelStore } from '../../src/infra/readmodel/sqlite'

/** The read-model port's rebuild support (generations, claims, switch-over, snapshots). */

const ORDERS = { name: 'orders', indexes: [['customer', 'placedAt'], ['status']] }
const SHADOW = { name: 'orders__shadow', indexes: ORDERS.indexes }
const swap = [{ live: 'orders', shadow: 'orders__shadow' }]

function openStore(t: Test, path: string): ReadModelStore {
  const store = createSqliteReadModelStore({ path })
  t.teardown(() => store.close())
  return store
}

/** Two connections to one read-model file, as a server and a rebuild process hold them. */
async function givenTwoConnections(t: Test) {
  const path = join(t.testdir(), 'read-models.sqlite')
  const server = openStore(t, path)
  const rebuild = openStore(t, path)
  await server.ensureCollections([ORDERS])
  return { path, server, rebuild }
}

const order = (n: number, status = 'open'): Doc => ({ n, customer: 'ann', status, placedAt: n })
const put = (collection: string, n: number, status?: string) => ({
  collection,
  key: `o${n}`,
  doc: order(n, status),
})

/** A shadow claimed and filled with the given orders at `position`. */
async function givenShadow(store: ReadModelStore, numbers: number[], position: bigint) {
  const generation = await store.claim('orders__shadow', ['orders__shadow'])
  await store.ensureCollections([SHADOW])
  const changes = numbers.map((n) => put('orders__shadow', n, 'rebuilt'))
  await store.commit('orders__shadow', changes, position, { generation })
  return generation
}

const numbers = (docs: Doc[]) => docs.map((doc) => doc.n)

t.test('a commit under a stale generation writes nothing and names both generations', async (t) => {
  const { server, rebuild } = await givenTwoConnections(t)
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
})

t.test('a commit without a generation is not checked, as before generations', async (t) => {
  const { server } = await givenTwoConnections(t)

  await server.commit('orders', [put('orders', 1)], 1n)
  await server.commit('monitor', [], 7n)

  t.same(await server.checkpointState('orders'), { position: 1n, generation: 0 })
  t.same(await server.checkpointState('never-ran'), { position: undefined, generation: 0 })
  t.equal(await server.checkpoint('monitor'), 7n)
})

t.test(
  'a switch-over replaces the documents, moves the checkpoint and ends the claim',
  async (t) => {
    const { server, rebuild } = await givenTwoConnections(t)
    await server.commit('orders', [put('orders', 1), put('orders', 5)], 5n)
    const generation = await givenShadow(rebuild, [1, 2, 3], 6n)

    const state = await rebuild.switchOver({
      projection: 'orders',
      shadow: { projection: 'orders__shadow', generation },
      collections: swap,
    })

    t.same(state, { position: 6n, generation: 1 })
    t.same(numbers(await server.find({ collection: 'orders' })), [1, 2, 3], 'seen by the server')
    t.same(
      numbers(await server.find({ collection: 'orders', where: { status: 'rebuilt' } })),
      [1, 2, 3],
    )
    t.same(await server.checkpointState('orders__shadow'), {
      position: undefined,
      generation: generation + 1,
    })
    await t.rejects(server.get('orders__shadow', 'o1'), /no such table/)
  },
)

t.test('a switch-over runs its final catch-up in the same transaction', async (t) => {
  const { server, rebuild } = await givenTwoConnections(t)
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
    const { server, rebuild } = await givenTwoConnections(t)
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
  const { server, rebuild } = await givenTwoConnections(t)
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

t.test('keeps one index per declared index across repeated switch-overs', async (t) => {
  const { path, server, rebuild } = await givenTwoConnections(t)

  for (let round = 1; round <= 3; round++) {
    const generation = await givenShadow(rebuild, [round], BigInt(round))
    await rebuild.switchOver({
      projection: 'orders',
      shadow: { projection: 'orders__shadow', generation },
      collections: swap,
    })
    await server.ensureCollections([ORDERS])
  }

  const db = new Database(path, { readonly: true })
  t.teardown(() => db.close())
  const indexes = db
    .prepare("SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    .all() as { tbl_name: string }[]
  t.same(
    indexes.map((row) => row.tbl_name),
    ['orders', 'orders'],
  )
  const plan = db
    .prepare("EXPLAIN QUERY PLAN SELECT doc FROM orders WHERE f_status = 'rebuilt'")
    .all() as { detail: string }[]
  t.match(plan[0].detail, /USING INDEX/)
  t.same(await server.checkpointState('orders'), { position: 3n, generation: 3 })
})

t.test('a snapshot reads checkpoints and documents of one moment', async (t) => {
  const { server, rebuild } = await givenTwoConnections(t)
  await server.commit('orders', [put('orders', 1)], 1n)

  const seen = await rebuild.snapshot(async (view) => {
    const before = await view.checkpoint('orders')
    await server.commit('orders', [put('orders', 2)], 2n)
    const docs = await view.entries('orders')
    return { before, keys: docs.map((entry) => entry.key), after: await view.checkpoint('orders') }
  })

  t.same(seen, { before: 1n, keys: ['o1'], after: 1n })
  t.equal(await rebuild.checkpoint('orders'), 2n, 'the snapshot has ended')
})

t.test('lists entries with their keys in code point order, a page at a time', async (t) => {
  const { server } = await givenTwoConnections(t)
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

t.test('writes through the same store wait for a switch-over in progress', async (t) => {
  const { rebuild } = await givenTwoConnections(t)
  const generation = await givenShadow(rebuild, [1], 1n)
  const order: string[] = []

  await rebuild.switchOver({
    projection: 'orders',
    shadow: { projection: 'orders__shadow', generation },
    collections: swap,
    async beforeSwitch() {
      // Not awaited: it would wait for this very switch-over.
      void rebuild.commit('other', [], 1n).then(() => order.push('other commit'))
      await Promise.resolve()
      order.push('switch')
    },
  })
  await rebuild.commit('after', [], 1n)

  t.same(order, ['switch', 'other commit'])
  t.equal(await rebuild.checkpoint('other'), 1n)
})

t.test('adds the generation to a checkpoints table written before generations', async (t) => {
  const path = join(t.testdir(), 'read-models.sqlite')
  const old = new Database(path)
  old.exec('CREATE TABLE checkpoints (projection TEXT PRIMARY KEY, position TEXT)')
  old.prepare("INSERT INTO checkpoints VALUES ('orders', '42')").run()
  old.close()

  const store = openStore(t, path)

  t.same(await store.checkpointState('orders'), { position: 42n, generation: 0 })
})
