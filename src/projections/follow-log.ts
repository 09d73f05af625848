import { defer, retry, timer, type SchedulerLike, type Subscription } from 'rxjs'
import type { EventStore, RecordedEvent } from '../infra/eventstore/port'
import type { Logger } from '../infra/logging/logger'

/** First wait before a failed log subscription is opened again; doubles up to the cap. */
export const RESUBSCRIBE_BASE_MS = 100
export const RESUBSCRIBE_CAP_MS = 10_000

/**
 * Follows the global log from a position for a process manager: each event is handed to
 * `onEvent` in order, and when the subscription fails it is opened again after the last event
 * handled, with capped, jittered backoff, so a passing store error does not leave the manager
 * deaf until the next restart.
 */
export function followLog(
  events: EventStore,
  options: { after: bigint; categories: readonly string[] },
  onEvent: (event: RecordedEvent) => void,
  log: Logger,
  scheduler?: SchedulerLike,
): Subscription {
  let last = options.after
  return defer(() => events.subscribeToAll({ after: last, categories: options.categories }))
    .pipe(
      retry({
        resetOnSuccess: true,
        delay: (err: unknown, attempt: number) => {
          const cap = Math.min(RESUBSCRIBE_CAP_MS, RESUBSCRIBE_BASE_MS * 2 ** (attempt - 1))
          const wait = Math.round(cap / 2 + (Math.random() * cap) / 2)
          log.warn(
            { err, attempt, wait, after: String(last) },
            'log subscription failed, resubscribing',
          )
          return timer(wait, scheduler)
        },
      }),
    )
    .subscribe((event) => {
      onEvent(event)
      last = event.position
    })
}
