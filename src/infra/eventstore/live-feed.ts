import type { RecordedEvent } from './port'

/** What a live subscriber is told: committed events in position order, then how the feed ended. */
export interface LiveListener {
  events(batch: readonly RecordedEvent[]): void
  closed(): void
  failed(err: unknown): void
}

/**
 * Fans committed events out to the subscribers of this process, right after each commit, so no
 * subscriber has to poll the store. It is the only source of live events, so an append made by
 * another process on the same database file is seen only by a later catch-up read.
 */
export interface LiveFeed {
  /** Registers a listener; returns the function that removes it. */
  listen(listener: LiveListener): () => void
  /** Whether anyone listens, so a store can skip decoding events nobody will see. */
  hasListeners(): boolean
  /** Tells every listener about events just committed. */
  publish(batch: readonly RecordedEvent[]): void
  /** Completes every listener, and any that registers later at once. */
  close(): void
  /** Errors every listener, for a store that can no longer serve. */
  fail(err: unknown): void
}

export function createLiveFeed(): LiveFeed {
  const listeners = new Set<LiveListener>()
  const queue: (readonly RecordedEvent[])[] = []
  let publishing = false
  // Set once the feed ends: how to tell a listener, including one that registers afterwards.
  let ended: ((listener: LiveListener) => void) | undefined

  // A listener may append while it is being told of a commit (a process manager does). If that
  // append committed synchronously, telling listeners at once would hand them the newer events
  // before the rest of the older batch; queueing it behind the current batch keeps the order.
  const publish = (batch: readonly RecordedEvent[]): void => {
    if (ended !== undefined || batch.length === 0) return
    queue.push(batch)
    if (publishing) return

    publishing = true
    try {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        for (const listener of listeners) listener.events(next)
      }
    } finally {
      publishing = false
    }
  }

  const end = (tell: (listener: LiveListener) => void): void => {
    if (ended !== undefined) return
    ended = tell
    queue.length = 0
    const ending = [...listeners]
    listeners.clear()
    for (const listener of ending) tell(listener)
  }

  return {
    listen(listener) {
      if (ended !== undefined) {
        ended(listener)
        return () => {}
      }
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    hasListeners: () => listeners.size > 0,
    publish,
    close: () => end((listener) => listener.closed()),
    fail: (err) => end((listener) => listener.failed(err)),
  }
}
