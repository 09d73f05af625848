import { randomUUID } from 'node:crypto'
import type { EventStore, NewEvent, RecordedEvent } from '../../../src/infra/eventstore/port'

/**
 * How the conformance suite gets a store. A fixture is one store's data: `open` may be called
 * again after a close, and a durable fixture then sees what the closed store committed.
 */
export interface StoreFixture {
  open(): Promise<EventStore>
  /** Frees the data (a temp directory, say); called after every opened store is closed. */
  cleanup(): void | Promise<void>
  /** Whether a reopened store keeps what was committed before, so restart tests apply. */
  durable: boolean
  /**
   * Whether positions count events, 1, 2, 3... (the embedded stores). The suite then checks the
   * exact numbers as well; other stores' positions only have to grow (EventStoreDB's are byte
   * offsets). Default false.
   */
  densePositions?: boolean
  /**
   * Whether the fixture's log is empty and nobody else writes to it (default true). False for a
   * shared server: the suite then reads after the head it found and looks at its own streams.
   */
  ownLog?: boolean
  /** Whether an event id is unique across streams, not only within one (default true). */
  globalEventIds?: boolean
}

export type StoreFactory = () => StoreFixture

/** A fresh fixture and its first store; everything is closed and cleaned up in `t.teardown`. */
export async function givenStore(t: tap.Test, factory: StoreFactory) {
  const fixture = factory()
  const opened: EventStore[] = []
  t.teardown(async () => {
    for (const store of opened) await store.close()
    await fixture.cleanup()
  })

  const open = async (): Promise<EventStore> => {
    const store = await fixture.open()
    opened.push(store)
    return store
  }
  const store = await open()
  const ownLog = fixture.ownLog ?? true
  return {
    store,
    reopen: open,
    durable: fixture.durable,
    dense: fixture.densePositions ?? false,
    ownLog,
    globalEventIds: fixture.globalEventIds ?? true,
    /** The head before the test wrote anything: 0n on a log of its own. */
    base: ownLog ? 0n : await store.headPosition(),
  }
}

/** A stream name of its own for each test: `<category>-<uuid>`. */
export const newStream = (category = 'conversation'): string => `${category}-${randomUUID()}`

/** A category no other test uses, for filters on a log that other tests write too. */
export const newCategory = (prefix: string): string =>
  `${prefix}${randomUUID().replace(/-/g, '').slice(0, 12)}`

/** `count` events numbered from `from`, so a test can tell them apart in the log. */
export function events(count: number, from = 0, type = 'MessageSent'): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({ type, data: { n: from + i } }))
}

/**
 * Appends `total` events in appends of `perAppend`, all at once, to fill a log quickly. Returns
 * the streams it wrote, so a test can learn the positions they got.
 */
export async function fillLog(
  store: EventStore,
  total: number,
  perAppend = 100,
): Promise<string[]> {
  const appends: Promise<unknown>[] = []
  const streams: string[] = []
  for (let from = 0; from < total; from += perAppend) {
    const count = Math.min(perAppend, total - from)
    const stream = newStream()
    streams.push(stream)
    appends.push(store.appendToStream(stream, events(count, from)))
  }
  await Promise.all(appends)
  return streams
}

/** Positions 1..n exactly: the whole log, each event once, in order. */
export const consecutive = (n: number, from = 1n): bigint[] =>
  Array.from({ length: n }, (_, i) => from + BigInt(i))

export const positions = (read: readonly RecordedEvent[]): bigint[] => read.map((e) => e.position)

/**
 * The positions the store gave the events of these streams, in log order: what reads and
 * subscriptions must deliver. Taken from `readStream`, whose positions the first append test
 * holds against what the appends returned.
 */
export async function storedPositions(
  store: EventStore,
  streams: Iterable<string>,
): Promise<bigint[]> {
  const all: bigint[] = []
  for (const stream of new Set(streams)) {
    for (const event of await store.readStream(stream)) all.push(event.position)
  }
  return all.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/** Only the events of the given streams on a shared log; everything on a log of its own. */
export const mine = (ownLog: boolean, streams: ReadonlySet<string>) => (event: RecordedEvent) =>
  ownLog || streams.has(event.streamName)

/** Checks that positions strictly grow, and on a dense store that they are `from`, `from + 1`.. */
export function checkPositions(
  t: tap.Test,
  found: readonly bigint[],
  options: { dense: boolean; from?: bigint },
): void {
  t.ok(
    found.every((p, i) => i === 0 || p > found[i - 1]),
    'positions strictly grow',
  )
  if (options.dense) t.same(found, consecutive(found.length, options.from ?? 1n), 'dense positions')
}
