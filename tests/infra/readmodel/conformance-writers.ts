import type { Test } from 'tap'
import type { RecordedEvent } from '../../../src/infra/eventstore/port'
import type { ReadModelStore } from '../../../src/infra/readmodel/port'
import { projectBatch, type DocSource } from '../../../src/projections/batch'
import type { Projection } from '../../../src/projections/projection'
import type { ReadModelBackend } from './conformance'

/**
 * Several writers of one projection (gateway nodes running the same projections against one
 * store): a batch carries the checkpoint position it was folded from, and a store refuses it
 * once another writer has moved the checkpoint on.
 */

/** `x` events set X to their position; `y` events add X to Y's sum: Y reads another document. */
const sums: Projection = {
  name: 'sums',
  categories: ['c'],
  collections: [
    { name: 'xs', indexes: [] },
    { name: 'ys', indexes: [] },
  ],
  reads: (event) =>
    event.type === 'x'
      ? [{ collection: 'xs', key: 'X' }]
      : [
          { collection: 'ys', key: 'Y' },
          { collection: 'xs', key: 'X' },
        ],
  apply: (event, read) => {
    if (event.type === 'x')
      return [{ collection: 'xs', key: 'X', doc: { v: Number(event.position) } }]
    const sum = Number(read('ys', 'Y')?.sum ?? 0) + Number(read('xs', 'X')?.v ?? 0)
    return [{ collection: 'ys', key: 'Y', doc: { sum } }]
  },
}

const event = (position: number, type: string): RecordedEvent => ({
  id: `e${position.toString()}`,
  streamName: 'c-1',
  revision: BigInt(position),
  position: BigInt(position),
  type,
  data: {},
  metadata: {},
  recordedAt: 0,
})

/** Registers the several-writers tests on `t`. */
export function writersConformance(t: Test, backend: ReadModelBackend): void {
  const givenTwoWriters = async (t: Test): Promise<[ReadModelStore, ReadModelStore]> => {
    const open = await backend.space(t)
    const [first, second] = [open(), open()]
    await first.ensureCollections(sums.collections)
    return [first, second]
  }

  t.test('a commit from another checkpoint position writes nothing and says so', async (t) => {
    const [store] = await givenTwoWriters(t)
    const put = (v: number) => [{ collection: 'xs', key: 'X', doc: { v } }]
    await store.commit('sums', put(1), 1n, { position: null })

    const stale = store.commit('sums', put(2), 2n, { position: null })

    await t.rejects(stale, { code: 'read_model_checkpoint_moved', expected: null, actual: 1n })
    t.same(await store.get('xs', 'X'), { v: 1 })
    await store.commit('sums', put(3), 3n, { position: 1n })
    t.same(await store.checkpointState('sums'), { position: 3n, generation: 0 })
  })

  t.test(
    'a batch folded while another writer committed is refused, then followed on',
    async (t) => {
      const [leader, follower] = await givenTwoWriters(t)
      const log = [event(1, 'y'), event(2, 'x'), event(3, 'y'), event(4, 'y')]
      // The leader commits events 1-3 between the follower's two prefetches: Y is read before
      // that commit, X after it, so the follower folds event 1 against X as of event 2.
      let raced = false
      const racing: DocSource = {
        async getMany(collection, keys) {
          const docs = await follower.getMany(collection, keys)
          if (collection === 'ys' && !raced) {
            raced = true
            const changes = await projectBatch(sums, leader, log.slice(0, 3))
            await leader.commit('sums', changes, 3n, { position: null })
          }
          return docs
        },
      }
      const folded = await projectBatch(sums, racing, log)

      const refused = follower.commit('sums', folded, 4n, { position: null })

      await t.rejects(refused, { code: 'read_model_checkpoint_moved', actual: 3n })
      const { position } = await follower.checkpointState('sums')
      const rest = log.filter((e) => position === undefined || e.position > position)
      await follower.commit('sums', await projectBatch(sums, follower, rest), 4n, { position })
      t.same(await follower.get('ys', 'Y'), { sum: 4, _pos: '4' }, 'as one writer alone: 0 + 2 + 2')
    },
  )
}
