import { ObjectId, type Document } from 'bson'

// The server's sort order across types (BSON comparison order), for the types tests store.
function rank(value: unknown): number {
  if (value === undefined || value === null) return 1
  if (typeof value === 'number' || typeof value === 'bigint') return 2
  if (typeof value === 'string') return 3
  if (Array.isArray(value)) return 5
  if (value instanceof ObjectId) return 7
  if (typeof value === 'boolean') return 8
  if (value instanceof Date) return 9
  return 4
}

/**
 * Compares two values as the server's simple collation does: strings by their UTF-8 bytes
 * (JavaScript's `<` compares UTF-16 code units, which orders U+E000-U+FFFF after astral
 * characters), numbers by value, other types by BSON type order.
 */
export function compareValues(a: unknown, b: unknown): number {
  const byRank = rank(a) - rank(b)
  if (byRank !== 0) return byRank
  if (typeof a === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b as string))
  if (typeof a === 'number' || typeof a === 'bigint')
    return a < (b as number) ? -1 : a > (b as number) ? 1 : 0
  if (typeof a === 'boolean') return Number(a) - Number(b)
  if (a instanceof Date) return a.getTime() - (b as Date).getTime()
  if (a instanceof ObjectId) return a.toHexString().localeCompare((b as ObjectId).toHexString())
  return 0
}

const valueAt = (doc: Document, path: string): unknown =>
  path.split('.').reduce<unknown>((value, field) => (value as Document | undefined)?.[field], doc)

/** Sorts documents by a `{ field: 1 | -1 }` specification, stably. */
export function sortDocs(docs: Document[], sort: Record<string, number>): Document[] {
  const keys = Object.entries(sort)
  return [...docs].sort((x, y) => {
    for (const [path, direction] of keys) {
      const order = compareValues(valueAt(x, path), valueAt(y, path))
      if (order !== 0) return direction < 0 ? -order : order
    }
    return 0
  })
}
