import { START, type AllStreamSubscription, type ReadPosition } from '@eventstore/db-client'
import { Observable } from 'rxjs'
import { ParleyError } from '../../../domain/shared/errors'
import type { ReadAllOptions, RecordedEvent } from '../port'
import { translateError } from './errors'
import { toRecordedEvent } from './event-codec'
import { type CheckpointOptions, logFilter } from './log-filter'
import type { EsdbSession } from './session'

/** Internal code of a subscription the server ended although nobody unsubscribed. */
export const SUBSCRIPTION_DROPPED = 'subscription_dropped' as const

/** The server ended a subscription (a restart, a leader change): subscribe again from the last. */
export class SubscriptionDroppedError extends ParleyError {
  constructor(after: bigint) {
    super(SUBSCRIPTION_DROPPED, 'the event store ended the subscription', {
      after: after.toString(),
    })
  }
}

/**
 * Where a subscription starts: strictly after `after`, as the port and the server both mean it.
 * Prepare is taken equal to commit, which holds for every event Parley writes (no explicit
 * transactions); 0n and omitted both mean the start of the log.
 */
export const fromPosition = (after?: bigint): ReadPosition =>
  after === undefined || after === 0n ? START : { commit: after, prepare: after }

/** Opens the client's catch-up subscription to $all, filtered on the server. */
export function openAllSubscription(
  session: EsdbSession,
  options: Omit<ReadAllOptions, 'maxCount'>,
  checkpoints?: CheckpointOptions,
): AllStreamSubscription {
  return session.client.subscribeToAll({
    fromPosition: fromPosition(options.after),
    filter: logFilter(options.categories, checkpoints).filter,
  })
}

/**
 * The port's subscribeToAll on a catch-up subscription to $all: the server does the catch-up and
 * the hand-over to live events, in commit order. Not a persistent subscription: those spread
 * events over consumers and redeliver on timeouts, so they keep no order, which every projection
 * here relies on.
 *
 * It completes when unsubscribed or when the store closes, and errors (with Parley's errors) when
 * the server fails it or ends it unasked; it does not resubscribe by itself. Its callers
 * (projection runner, followLog) already subscribe again after the last position they handled,
 * with capped, jittered backoff, and a second retry loop here would only stack the delays.
 */
export function subscribeToAll(
  session: EsdbSession,
  options: Omit<ReadAllOptions, 'maxCount'> = {},
): Observable<RecordedEvent> {
  return new Observable<RecordedEvent>((subscriber) => {
    if (session.isClosed()) return subscriber.complete()

    let last = options.after ?? 0n
    let ended = false
    const subscription = openAllSubscription(session, options)
    const stop = (): void => {
      if (ended) return
      ended = true
      deregister()
      void subscription.unsubscribe().catch(() => undefined)
    }
    const deregister = session.onClose(() => {
      stop()
      subscriber.complete()
    })

    subscription.on('data', (resolved) => {
      if (ended) return
      const event = toRecordedEvent(resolved)
      // The server resends nothing, but a position at or below the last would break the
      // resume-after-last contract of every caller, so it is dropped rather than passed on.
      if (event === undefined || event.position <= last) return
      last = event.position
      subscriber.next(event)
    })
    subscription.on('error', (err: unknown) => {
      if (ended) return
      stop()
      const translated = translateError(err, {
        operation: 'subscribeToAll',
        closed: session.isClosed(),
      })
      session.log.warn({ err: translated, after: String(last) }, 'event store subscription failed')
      subscriber.error(translated)
    })
    subscription.on('end', () => {
      if (ended) return
      stop()
      session.log.warn({ after: String(last) }, 'event store ended a subscription')
      subscriber.error(new SubscriptionDroppedError(last))
    })

    return stop
  })
}
