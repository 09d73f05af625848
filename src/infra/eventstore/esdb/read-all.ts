import {
  BACKWARDS,
  END,
  type AllStreamSubscription,
  type ReadPosition,
} from '@eventstore/db-client'
import { StoreClosedError } from '../append-rules'
import type { ReadAllOptions, RecordedEvent } from '../port'
import { translateError } from './errors'
import { toRecordedEvent } from './event-codec'
import { logFilter } from './log-filter'
import type { EsdbSession } from './session'
import { openAllSubscription, SubscriptionDroppedError } from './subscription'

/** Events in the first page of a backwards scan of the log's tail: 64. */
export const TAIL_SCAN_PAGE = 64
/** Largest page of such a scan: 4096; each page after the first is four times larger. */
export const TAIL_SCAN_MAX_PAGE = 4_096
/** Events a read holds before it pauses the server's stream until the reader catches up. */
export const READ_HIGH_WATER = 1_000

/**
 * The position of the last event of $all that `matches`, strictly after `after`, or undefined.
 * Read backwards from the end, page by page, stopping at `after`: @eventstore/db-client 6.2.1
 * cannot put a filter on a read of $all (only on subscriptions), so this one scan of the tail is
 * filtered here. It usually stops within the first page: the newest events are Parley's. Pages
 * grow, so a long run of system events (a server with no Parley event yet) takes few calls.
 */
export async function lastMatching(
  session: EsdbSession,
  matches: (streamName: string) => boolean,
  after?: bigint,
): Promise<bigint | undefined> {
  let from: ReadPosition = END
  let below: bigint | undefined
  for (let page = TAIL_SCAN_PAGE; ; page = Math.min(page * 4, TAIL_SCAN_MAX_PAGE)) {
    const read = session.client.readAll({
      direction: BACKWARDS,
      fromPosition: from,
      maxCount: page,
    })
    let count = 0
    try {
      for await (const resolved of read) {
        count += 1
        const event = resolved.event
        if (event === undefined) continue
        const position = event.position.commit
        // Servers differ on whether a backwards read includes its start: skip what was seen.
        if (below !== undefined && position >= below) continue
        if (after !== undefined && position <= after) return undefined
        if (matches(event.streamId)) return position
        below = position
        from = event.position
      }
    } catch (err) {
      throw translateError(err, { operation: 'readAll', closed: session.isClosed() })
    } finally {
      void read.cancel().catch(() => undefined)
    }
    if (count < page) return undefined
  }
}

type Item =
  | { kind: 'event'; event: RecordedEvent }
  | { kind: 'checkpoint'; position: bigint }
  | { kind: 'caughtUp' }
  | { kind: 'failed'; err: unknown }

/** The subscription's messages as a queue the generator awaits, paused past the high water. */
function queueOf(subscription: AllStreamSubscription) {
  const items: Item[] = []
  let wake: (() => void) | undefined
  const push = (item: Item): void => {
    items.push(item)
    if (items.length >= READ_HIGH_WATER) subscription.pause()
    wake?.()
  }
  subscription.on('data', (resolved) => {
    const event = toRecordedEvent(resolved)
    if (event !== undefined) push({ kind: 'event', event })
  })
  subscription.on('caughtUp', () => push({ kind: 'caughtUp' }))
  subscription.on('error', (err: unknown) => push({ kind: 'failed', err }))
  subscription.on('end', () => push({ kind: 'failed', err: undefined }))

  return {
    push,
    async next(): Promise<Item> {
      while (items.length === 0) await new Promise<void>((resolve) => (wake = resolve))
      wake = undefined
      const item = items.shift() as Item
      if (items.length < READ_HIGH_WATER / 2) subscription.resume()
      return item
    },
    /** Wakes a waiting `next` with a failure, for a store that closes mid-read. */
    fail: () => push({ kind: 'failed', err: new StoreClosedError() }),
  }
}

/**
 * The port's readAll: the events of Parley's streams (or of `categories`) strictly after
 * `after`, filtered on the server. It runs as a catch-up subscription, the only filtered read of
 * $all the client offers, and ends at the log's head as it was when the read began (the last
 * event of any Parley stream, found by one short backwards read): at the first event past it,
 * at a server checkpoint at or past it (the server scanned that far and found nothing more that
 * matches), or at the server's `caughtUp`, whichever comes first. Bounding by the head rather
 * than by the last *matching* event keeps a read of a quiet category cheap: finding that event
 * would mean scanning back over everything the other categories wrote since.
 */
export async function* readAll(
  session: EsdbSession,
  options: ReadAllOptions = {},
): AsyncGenerator<RecordedEvent> {
  if (session.isClosed()) throw new StoreClosedError()
  const maxCount = options.maxCount ?? Infinity
  if (maxCount <= 0) return
  const horizon = await lastMatching(session, logFilter().matches, options.after)
  if (horizon === undefined) return

  const checkpoints = {
    // Every search window (32 events scanned by the server by default): a read of a quiet
    // category ends within 32 events of the head instead of waiting for its next event.
    checkpointInterval: 1,
    // Called only once the server answers, after `queue` below exists.
    checkpointReached: (position: bigint) => queue.push({ kind: 'checkpoint', position }),
  }
  const subscription = openAllSubscription(session, options, checkpoints)
  const queue = queueOf(subscription)
  const deregister = session.onClose(queue.fail)
  let last = options.after ?? 0n
  try {
    for (let count = 0; count < maxCount;) {
      const item = await queue.next()
      if (item.kind === 'caughtUp') return
      if (item.kind === 'checkpoint') {
        if (item.position >= horizon) return
        continue
      }
      if (item.kind === 'failed') {
        if (item.err === undefined) throw new SubscriptionDroppedError(last)
        throw translateError(item.err, { operation: 'readAll', closed: session.isClosed() })
      }

      const { event } = item
      if (event.position <= last) continue
      if (event.position > horizon) return
      last = event.position
      count += 1
      yield event
      if (event.position === horizon) return
    }
  } finally {
    deregister()
    void subscription.unsubscribe().catch(() => undefined)
  }
}

/** The position of the last event of a non-system stream, 0n for a log without one. */
export async function headPosition(session: EsdbSession): Promise<bigint> {
  if (session.isClosed()) throw new StoreClosedError()
  return (await lastMatching(session, (streamName) => !streamName.startsWith('$'))) ?? 0n
}
