import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import type { Doc, ReadModelStore } from '../../src/infra/readmodel/port'
import { createSqliteReadModelStore } from '../../src/infra/readmodel/sqlite'

/**
 * The embedded store's own side of the rebuild support: its indexes across switch-overs, the
 * in-process wait for a switch-over, old checkpoint tables. What every store must do
 * (generations, claims, switch-over, snapshots) is in tests/infra/readmodel/conformance.ts.
 */

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
