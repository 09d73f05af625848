import { Observable, type OperatorFunction } from 'rxjs'
import type { RecordedEvent } from '../infra/eventstore/port'
import type { Doc, DocChange, ReadModelStore } from '../infra/readmodel/port'
import type { DocReader, DocRef, Projection } from './projection'

/** The runner's stamp on every document it writes: the position of the last event that did. */
export const POSITION_FIELD = '_pos'

/** One map key for a document of any collection, as `applyToMemory` and the runner use. */
export const docId = (collection: string, key: string): string => `${collection}/${key}`

interface Stored {
  doc: Doc
  position: bigint | undefined
}

/** All a batch needs of a store: a rebuild's switch-over passes its open transaction. */
export type DocSource = Pick<ReadModelStore, 'getMany'>

/** Loads documents into `stored` (null for a missing one), one `getMany` per collection. */
async function fetchInto(
  stored: Map<string, Stored | null>,
  store: DocSource,
  refs: readonly DocRef[],
): Promise<void> {
  const wanted = new Map<string, Set<string>>()
  for (const { collection, key } of refs) {
    if (stored.has(docId(collection, key))) continue
    const keys = wanted.get(collection) ?? new Set<string>()
    wanted.set(collection, keys.add(key))
  }

  for (const [collection, keys] of wanted) {
    const docs = await store.getMany(collection, [...keys])
    for (const key of keys) {
      const found = docs.get(key)
      if (found === undefined) {
        stored.set(docId(collection, key), null)
        continue
      }
      // `apply` never sees the stamp, so it behaves exactly as over an in-memory mirror.
      const { [POSITION_FIELD]: position, ...doc } = found
      stored.set(docId(collection, key), {
        doc,
        position: typeof position === 'string' ? BigInt(position) : undefined,
      })
    }
  }
}

/**
 * The changes a batch of events makes, ready to commit with the batch's last position.
 *
 * A store that cannot commit documents and checkpoint atomically may have written some of a
 * batch before failing; the batch is then replayed. Each written document carries the position
 * of its event, and a change to a document stamped at or after the event's own position is
 * dropped, so a replay neither applies an event twice nor skips one.
 */
export async function projectBatch(
  projection: Projection,
  store: DocSource,
  batch: readonly RecordedEvent[],
): Promise<DocChange[]> {
  // 1. Prefetch what the batch declares.
  const stored = new Map<string, Stored | null>()
  await fetchInto(
    stored,
    store,
    batch.flatMap((event) => projection.reads(event)),
  )

  // 2. Apply in order; later events see earlier changes through the overlay.
  const overlay = new Map<string, Doc | null>()
  const read: DocReader = (collection, key) => {
    const id = docId(collection, key)
    if (overlay.has(id)) return overlay.get(id) ?? undefined
    const found = stored.get(id)
    // Reading an undeclared document would silently see "missing": fail loudly instead.
    if (found === undefined) throw new Error(`${projection.name} read ${id} not named in reads()`)
    return found?.doc
  }

  // Only the last write of each document goes out, moved to the end so the order of last writes
  // is kept (what a non-transactional store's partial write relies on).
  const out = new Map<string, DocChange>()
  for (const event of batch) {
    const changes = projection.apply(event, read)
    // Written but not declared (a key the event alone cannot tell): look its stamp up now.
    await fetchInto(stored, store, changes)

    for (const { collection, key, doc } of changes) {
      const id = docId(collection, key)
      const stamp = stored.get(id)?.position
      if (stamp !== undefined && stamp >= event.position) continue

      overlay.set(id, doc)
      out.delete(id)
      const stamped = doc && { ...doc, [POSITION_FIELD]: event.position.toString() }
      out.set(id, { collection, key, doc: stamped })
    }
  }
  return [...out.values()]
}

/** Runs `work` soon and returns how to cancel it. */
export type Schedule = (work: () => void) => () => void

// setImmediate runs once the current turn's I/O callbacks and microtasks are done: it adds no
// timer latency, yet gathers everything a catch-up page or a burst of commits emitted meanwhile.
const nextTurn: Schedule = (work) => {
  const handle = setImmediate(work)
  return () => clearImmediate(handle)
}

/**
 * Groups what the source emits within one turn of the event loop, at most `maxBatch` at a time:
 * a backlog arrives in large batches, while a lone live event leaves without waiting for a timer.
 */
export function bufferAvailable<T>(
  maxBatch: number,
  schedule: Schedule = nextTurn,
): OperatorFunction<T, T[]> {
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let buffer: T[] = []
      let cancel: (() => void) | undefined

      const flush = (): void => {
        cancel?.()
        cancel = undefined
        if (buffer.length === 0) return
        const batch = buffer
        buffer = []
        subscriber.next(batch)
      }

      const subscription = source.subscribe({
        next(value) {
          buffer.push(value)
          if (buffer.length >= maxBatch) flush()
          else cancel ??= schedule(flush)
        },
        error(err: unknown) {
          cancel?.()
          subscriber.error(err)
        },
        complete() {
          flush()
          subscriber.complete()
        },
      })

      return () => {
        cancel?.()
        subscription.unsubscribe()
      }
    })
}
