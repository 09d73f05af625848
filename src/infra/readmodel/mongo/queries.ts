import type { Document, Sort } from 'mongodb'
import type { Query } from '../port'
import { identifier } from './names'

const RANGE_OPERATORS = { gt: '$gt', gte: '$gte', lt: '$lt', lte: '$lte' } as const

/**
 * The port's query as a MongoDB filter and sort. Equality with null matches a missing field
 * too, as `json_extract` does on the embedded store; the key (`_id`) breaks ties in the order,
 * which is why every index the store creates ends with `_id`.
 */
export function toFind({ where = {}, range, orderBy }: Query): { filter: Document; sort: Sort } {
  const conditions: Document[] = []
  for (const [field, value] of Object.entries(where))
    conditions.push({ [identifier(field)]: value })

  if (range !== undefined) {
    const bounds: Document = {}
    for (const [name, operator] of Object.entries(RANGE_OPERATORS)) {
      const bound = range[name as keyof typeof RANGE_OPERATORS]
      if (bound !== undefined) bounds[operator] = bound
    }
    // A range without bounds matches everything; `{ field: {} }` would mean "equals {}".
    const field = identifier(range.field)
    if (Object.keys(bounds).length > 0) conditions.push({ [field]: bounds })
  }

  const filter =
    conditions.length === 0 ? {} : conditions.length === 1 ? conditions[0] : { $and: conditions }
  const direction = orderBy?.direction === 'desc' ? -1 : 1
  const sort: Sort = orderBy
    ? { [identifier(orderBy.field)]: direction, _id: direction }
    : { _id: 1 }
  return { filter, sort }
}

/** A limit as the port means it; MongoDB would read 0 as "no limit", so callers return none. */
export function checkedLimit(limit: number | undefined): number | undefined {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new Error(`invalid limit: ${limit}`)
  }
  return limit
}

/** An index's key: the declared fields in order, ascending, closed by `_id`. */
export const indexKey = (fields: readonly string[]): Document =>
  Object.fromEntries([...fields.map((field) => [identifier(field), 1]), ['_id', 1]])
