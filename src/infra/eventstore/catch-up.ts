import { Observable } from 'rxjs'
import { categoryOf } from '../../domain/shared/streams'
import type { LiveFeed, LiveListener } from './live-feed'
import type { ReadAllOptions, RecordedEvent } from './port'

/** What a store lends a catch-up subscription. */
export interface CatchUpSource {
  /** At most `pageSize` events strictly after `after` in position order, already filtered. */
  readPage(after: bigint): readonly RecordedEvent[] | Promise<readonly RecordedEvent[]>
  pageSize: number
  feed: LiveFeed
  isClosed(): boolean
}

// A long catch-up would otherwise run in microtasks only, starving sockets and timers until the
// whole backlog is delivered.
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * The global log after a position: stored events page by page, then live ones from the feed.
 *
 * The hand-over works in three steps. First read pages to the head without listening, so a long
 * backlog does not pile live events up in memory. Then listen, buffering, and read to the head
 * again: an event committed before listening is in that read, one committed after is in the
 * buffer, and some may be in both. Last, drain the buffer skipping every position already
 * delivered. Positions only grow, so "at or below the last delivered" is a complete dedup test.
 */
export function catchUpThenLive(
  source: CatchUpSource,
  options: Omit<ReadAllOptions, 'maxCount'> = {},
): Observable<RecordedEvent> {
  const categories = options.categories && new Set(options.categories)
  const matches = (event: RecordedEvent): boolean =>
    categories === undefined || categories.has(categoryOf(event.streamName))

  return new Observable<RecordedEvent>((subscriber) => {
    let last = options.after ?? 0n
    let buffer: RecordedEvent[] | undefined
    let unlisten: (() => void) | undefined

    const deliver = (event: RecordedEvent): void => {
      if (event.position <= last || !matches(event)) return
      last = event.position
      subscriber.next(event)
    }

    const listener: LiveListener = {
      events(batch) {
        // A loop, not push(...batch): a group commit can be larger than the argument limit.
        if (buffer !== undefined) for (const event of batch) buffer.push(event)
        else for (const event of batch) deliver(event)
      },
      closed: () => subscriber.complete(),
      failed: (err) => subscriber.error(err),
    }

    const stopped = (): boolean => subscriber.closed || source.isClosed()

    const readToHead = async (): Promise<void> => {
      for (;;) {
        const page = await source.readPage(last)
        if (stopped()) return
        for (const event of page) deliver(event)
        if (page.length < source.pageSize) return
        await yieldToEventLoop()
        if (stopped()) return
      }
    }

    const run = async (): Promise<void> => {
      // 1. Catch up, not yet listening.
      await readToHead()
      if (stopped()) return

      // 2. Listen, buffering, and read what committed meanwhile.
      buffer = []
      unlisten = source.feed.listen(listener)
      await readToHead()
      if (stopped()) return

      // 3. Drain the buffer, then go live. Delivering may make a subscriber append, and that
      // event must queue behind the buffered ones, so the buffer stays on until it is empty.
      while (buffer.length > 0) {
        const held: RecordedEvent[] = buffer
        buffer = []
        for (const event of held) deliver(event)
      }
      buffer = undefined
    }

    run().then(
      () => {
        if (source.isClosed()) subscriber.complete()
      },
      (err: unknown) => (source.isClosed() ? subscriber.complete() : subscriber.error(err)),
    )

    return () => unlisten?.()
  })
}
