import { ObjectId, type Document } from 'bson'
import { aggregate, Query, update as applyOperators } from 'mingo'
import { clone, CommandError, idKey, type Collection } from './state'

/** A write error as `insert`, `update` and `delete` report it, by index in the batch. */
export interface WriteError {
  index: number
  code: number
  errmsg: string
}

const isOperatorUpdate = (u: unknown): boolean =>
  Array.isArray(u) || Object.keys(u as Document).some((field) => field.startsWith('$'))

export const matching = (collection: Collection | undefined, filter: Document = {}): Document[] => {
  if (collection === undefined) return []
  const query = new Query(filter)
  return [...collection.docs.values()].filter((doc) => query.test(doc))
}

function put(collection: Collection, doc: Document, replacing?: Document): void {
  const key = idKey(doc._id)
  if (replacing !== undefined && idKey(replacing._id) !== key) {
    throw new CommandError(66, 'ImmutableField', "the (immutable) field '_id' was altered")
  }
  if (replacing === undefined && collection.docs.has(key)) {
    throw new CommandError(11000, 'DuplicateKey', `E11000 duplicate key error: _id ${key}`)
  }
  collection.docs.set(key, doc)
}

export function insertOne(collection: Collection, doc: Document): void {
  const stored = clone(doc)
  if (stored._id === undefined) {
    // `_id` first, as the server stores it.
    put(collection, { _id: new ObjectId(), ...stored })
    return
  }
  put(collection, stored)
}

// The fields an upsert's new document starts from: the filter's plain equalities.
function seed(filter: Document): Document {
  const doc: Document = {}
  for (const [field, value] of Object.entries(filter)) {
    if (field.startsWith('$') || field.includes('.')) continue
    const isOperator =
      value !== null &&
      typeof value === 'object' &&
      Object.keys(value as Document).some((k) => k.startsWith('$'))
    if (!isOperator) doc[field] = value
  }
  return doc
}

function applied(before: Document, update: Document | Document[], arrayFilters?: Document[]) {
  if (!isOperatorUpdate(update)) {
    const replacement = clone(update as Document)
    delete replacement._id
    return { _id: before._id, ...replacement }
  }
  // A pipeline update is an aggregation of the one document.
  if (Array.isArray(update)) return aggregate([clone(before)], update)[0] ?? {}
  const after = clone(before)
  applyOperators(after, update as never, arrayFilters)
  return after
}

export interface UpdateOutcome {
  n: number
  nModified: number
  upsertedId?: unknown
}

// `$setOnInsert` (which mingo lacks) sets its fields only when an upsert inserts.
function splitSetOnInsert(u: Document | Document[]): { always: typeof u; onInsert: typeof u } {
  if (Array.isArray(u) || !('$setOnInsert' in u)) return { always: u, onInsert: u }
  const { $setOnInsert: inserted, ...rest } = u
  const onInsert = { ...rest, $set: { ...(inserted as Document), ...(rest.$set as Document) } }
  // Nothing left for a match is still an operator update, one that changes nothing: an empty
  // document would read as a replacement by `{}`.
  const always = Object.keys(rest).length === 0 ? { $set: {} } : rest
  return { always, onInsert }
}

/** One statement of an `update` command. */
export function updateDocs(collection: Collection, statement: Document): UpdateOutcome {
  const { q = {}, u, upsert = false, multi = false, arrayFilters } = statement
  const { always, onInsert } = splitSetOnInsert(u as Document | Document[])
  const filters = arrayFilters as Document[] | undefined
  const targets = matching(collection, q as Document)
  const chosen = multi ? targets : targets.slice(0, 1)

  if (chosen.length === 0) {
    if (!upsert) return { n: 0, nModified: 0 }
    const base = seed(q as Document)
    const doc = applied(base, onInsert, filters)
    if (!isOperatorUpdate(u) && base._id !== undefined) doc._id = base._id
    insertOne(collection, doc)
    const inserted = doc._id ?? [...collection.docs.values()].at(-1)?._id
    return { n: 1, nModified: 0, upsertedId: inserted }
  }

  let nModified = 0
  for (const before of chosen) {
    const after = applied(before, always, filters)
    if (idKey(after) === idKey(before)) continue
    put(collection, after, before)
    nModified++
  }
  return { n: chosen.length, nModified }
}

/** One statement of a `delete` command: `limit` 1 deletes the first match, 0 all of them. */
export function deleteDocs(collection: Collection | undefined, statement: Document): number {
  const targets = matching(collection, statement.q as Document)
  const chosen = statement.limit === 1 ? targets.slice(0, 1) : targets
  for (const doc of chosen) collection?.docs.delete(idKey(doc._id))
  return chosen.length
}
