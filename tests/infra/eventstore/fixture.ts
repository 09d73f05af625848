import { randomUUID } from 'node:crypto'
import type { EventStore, NewEvent } from '../../../src/infra/eventstore/port'

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
  return { store: await open(), reopen: open, durable: fixture.durable }
}

/** A stream name of its own for each test: `<category>-<uuid>`. */
export const newStream = (category = 'conversation'): string => `${category}-${randomUUID()}`

/** `count` events numbered from `from`, so a test can tell them apart in the log. */
export function events(count: number, from = 0, type = 'MessageSent'): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({ type, data: { n: from + i } }))
}

/** Appends `total` events in appends of `perAppend`, all at once, to fill a log quickly. */
export async function fillLog(store: EventStore, total: number, perAppend = 100): Promise<void> {
  const appends: Promise<unknown>[] = []
  for (let from = 0; from < total; from += perAppend) {
    const count = Math.min(perAppend, total - from)
    appends.push(store.appendToStream(newStream(), events(count, from)))
  }
  await Promise.all(appends)
}

/** Positions 1..n exactly: the whole log, each event once, in order. */
export const consecutive = (n: number, from = 1n): bigint[] =>
  Array.from({ length: n }, (_, i) => from + BigInt(i))
