import { isDeepStrictEqual } from 'node:util'
import type { Doc, Entry } from '../../infra/readmodel/port'
import { POSITION_FIELD } from '../batch'

/** One field that differs; `undefined` stands for a field one side does not have. */
export interface FieldDifference {
  /** Dotted path from the document's top, with `[i]` for array items: `lastMessage.seq`. */
  path: string
  live: unknown
  rebuilt: unknown
}

export const DifferenceKind = {
  /** In both, with different fields. */
  Changed: 'changed',
  /** In the rebuild, not in the live collection. */
  Missing: 'missing',
  /** In the live collection, not in the rebuild. */
  Extra: 'extra',
} as const
export type DifferenceKind = (typeof DifferenceKind)[keyof typeof DifferenceKind]

export type Difference = { collection: string; key: string } & (
  | { kind: typeof DifferenceKind.Changed; fields: FieldDifference[] }
  | { kind: typeof DifferenceKind.Missing; rebuilt: Doc }
  | { kind: typeof DifferenceKind.Extra; live: Doc }
)

/** A document without the runner's `_pos` stamp, which depends on when the batch ran. */
export function unstamped(doc: Doc): Doc {
  const { [POSITION_FIELD]: _stamp, ...rest } = doc
  return rest
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The fields that differ between two documents, leaves only, in a stable order. */
export function fieldDifferences(live: unknown, rebuilt: unknown, path = ''): FieldDifference[] {
  if (isDeepStrictEqual(live, rebuilt)) return []

  if (isRecord(live) && isRecord(rebuilt)) {
    const fields = [...new Set([...Object.keys(live), ...Object.keys(rebuilt)])].sort()
    const prefix = path === '' ? '' : `${path}.`
    return fields.flatMap((field) => fieldDifferences(live[field], rebuilt[field], prefix + field))
  }
  if (Array.isArray(live) && Array.isArray(rebuilt)) {
    const length = Math.max(live.length, rebuilt.length)
    return Array.from({ length }, (_, i) =>
      fieldDifferences(live[i], rebuilt[i], `${path}[${i}]`),
    ).flat()
  }
  return [{ path, live, rebuilt }]
}

/** Orders keys as the stores list them: by Unicode code point, which is UTF-8 byte order. */
export const compareKeys = (a: string, b: string): number =>
  Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))

/**
 * A collection's entries in key order with pending changes laid over them: a change replaces
 * or adds its document, a deletion (null) hides it.
 */
export async function* overlaid(
  entries: AsyncIterable<Entry>,
  changes: ReadonlyMap<string, Doc | null>,
): AsyncGenerator<Entry> {
  const keys = [...changes.keys()].sort(compareKeys)
  let i = 0
  const pending = function* (until?: string): Generator<Entry> {
    for (; i < keys.length && (until === undefined || compareKeys(keys[i], until) <= 0); i++) {
      const doc = changes.get(keys[i])
      if (doc) yield { key: keys[i], doc }
    }
  }

  for await (const entry of entries) {
    const replaced = changes.has(entry.key)
    yield* pending(entry.key)
    if (!replaced) yield entry
  }
  yield* pending()
}

/**
 * Walks two key-ordered collections side by side and reports each document that differs,
 * ignoring the `_pos` stamp. Resolves to how many documents each side had.
 */
export async function diffCollections(
  collection: string,
  live: AsyncIterable<Entry>,
  rebuilt: AsyncIterable<Entry>,
  report: (difference: Difference) => void,
): Promise<{ live: number; rebuilt: number }> {
  const left = live[Symbol.asyncIterator]()
  const right = rebuilt[Symbol.asyncIterator]()
  const counts = { live: 0, rebuilt: 0 }
  let l = await left.next()
  let r = await right.next()

  for (;;) {
    const ours = l.done ? undefined : l.value
    const theirs = r.done ? undefined : r.value
    if (ours === undefined && theirs === undefined) return counts

    // A side that has run out sorts after every key of the other.
    const order = !ours ? 1 : !theirs ? -1 : compareKeys(ours.key, theirs.key)
    if (ours && order <= 0) {
      counts.live++
      l = await left.next()
    }
    if (theirs && order >= 0) {
      counts.rebuilt++
      r = await right.next()
    }

    if (ours && theirs && order === 0) {
      const fields = fieldDifferences(unstamped(ours.doc), unstamped(theirs.doc))
      if (fields.length > 0) report({ collection, key: ours.key, kind: 'changed', fields })
    } else if (ours && order < 0) {
      report({ collection, key: ours.key, kind: 'extra', live: unstamped(ours.doc) })
    } else if (theirs) {
      report({ collection, key: theirs.key, kind: 'missing', rebuilt: unstamped(theirs.doc) })
    }
  }
}
