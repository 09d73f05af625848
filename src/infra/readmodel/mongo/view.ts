import type { ClientSession, Db } from 'mongodb'
import type { Doc, ReadModelView } from '../port'
import { Checkpoints } from './checkpoints'
import { fromStored } from './documents'
import { Aliases } from './names'
import { checkedLimit, toFind } from './queries'

/** Default page size of `entries`, the port's: 1000 documents. */
export const MONGO_DEFAULT_ENTRIES_LIMIT = 1000

/**
 * The reads, outside any transaction or inside one (`session`). Each resolves the collection's
 * alias first, so a read sees the collection the alias named at that moment: after a
 * switch-over, the new one.
 */
export function createView(db: Db, session?: ClientSession): ReadModelView {
  const aliases = new Aliases(db)
  const checkpoints = new Checkpoints(db)
  const physical = async (collection: string) =>
    db.collection<{ _id: string }>(await aliases.resolve(collection, session))

  return {
    async get(collection, key) {
      const found = await (await physical(collection)).findOne({ _id: key }, { session })
      return found === null ? undefined : fromStored(found)
    },

    async getMany(collection, keys) {
      const docs = new Map<string, Doc>()
      const target = await physical(collection)
      if (keys.length === 0) return docs
      const found = await target.find({ _id: { $in: [...keys] } }, { session }).toArray()
      for (const doc of found) docs.set(doc._id, fromStored(doc))
      return docs
    },

    async find(query) {
      const limit = checkedLimit(query.limit)
      const { filter, sort } = toFind(query)
      const target = await physical(query.collection)
      if (limit === 0) return []
      const cursor = target.find(filter, { session, sort, limit })
      return (await cursor.toArray()).map(fromStored)
    },

    async entries(collection, { afterKey, limit = MONGO_DEFAULT_ENTRIES_LIMIT } = {}) {
      checkedLimit(limit)
      const target = await physical(collection)
      if (limit === 0) return []
      const filter = afterKey === undefined ? {} : { _id: { $gt: afterKey } }
      const found = await target.find(filter, { session, sort: { _id: 1 }, limit }).toArray()
      return found.map((doc) => ({ key: doc._id, doc: fromStored(doc) }))
    },

    async checkpoint(projection) {
      return (await checkpoints.read(projection, session)).position
    },

    async checkpointState(projection) {
      const { position, generation } = await checkpoints.read(projection, session)
      return { position, generation }
    },
  }
}
