import type { Test } from 'tap'
import type { Doc, ReadModelStore } from '../../../src/infra/readmodel/port'
import type { ReadModelBackend } from './conformance'

/** The rebuild support every store must give: generations, claims, switch-over, snapshots. */

export const ORDERS = { name: 'orders', indexes: [['customer', 'placedAt'], ['status']] }
const SHADOW = { name: 'orders__shadow', indexes: ORDERS.indexes }
const swap = [{ live: 'orders', shadow: 'orders__shadow' }]

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

/** Registers the rebuild-support tests on `t`. */
export function rebuildConformance(t: Test, backend: ReadModelBackend): void {
  /** Two stores over one data space, as a server and a rebuild process hold them. */
  const givenTwoStores = async (t: Test) => {
    const open = await backend.space(t)
    const server = open()
    const rebuild = open()
    await server.ensureCollections([ORDERS])
    return { server, rebuild }
  }

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
