import { ParleyError } from '../domain/shared/errors'
import type { EventStore } from '../infra/eventstore/port'
import type { Logger } from '../infra/logging/logger'

export const PROJECTION_TIMEOUT = 'projection_timeout' as const
export const PROJECTION_STOPPED = 'projection_stopped' as const

/** A projection did not reach a position in time. */
export class ProjectionTimeoutError extends ParleyError {
  constructor(projection: string, position: bigint, reached: bigint) {
    super(PROJECTION_TIMEOUT, `${projection} did not reach position ${position} in time`, {
      projection,
      position: position.toString(),
      reached: reached.toString(),
    })
  }
}

/** A projection was stopped, or its event store closed, before reaching a position. */
export class ProjectionStoppedError extends ParleyError {
  constructor(projection: string) {
    super(PROJECTION_STOPPED, `${projection} stopped`, { projection })
  }
}

interface Waiter {
  target: bigint
  resolve(): void
  reject(err: Error): void
}

/** Promises that a projection has reached log positions. */
export interface PositionWaiters {
  /** Called once the checkpoint is loaded; no position is judged reached before. */
  start(checkpoint: bigint | undefined): void
  /** Resolves once every event of the categories up to `target` is committed. */
  wait(target: bigint, timeoutMs: number): Promise<void>
  /** The runner committed up to `position`. */
  committed(position: bigint): void
  stop(err: Error): void
}

/**
 * A projection reads some categories only, so the exact position a caller waits for (the last
 * event of another category, say) may never pass through it. Reaching a position therefore
 * means: checkpoint at or after it, or no event of the projection's categories between the
 * checkpoint and it. The second is asked of the store (one event read), only while someone
 * waits, after each commit and on each new wait.
 */
export function createPositionWaiters(
  events: EventStore,
  projection: { name: string; categories: readonly string[] },
  log: Logger,
): PositionWaiters {
  const waiters = new Set<Waiter>()
  let started = false
  let checkpoint: bigint | undefined
  let probing = false
  let probeAgain = false

  const release = (reached: (target: bigint) => boolean): void => {
    for (const waiter of [...waiters]) if (reached(waiter.target)) waiter.resolve()
  }

  const probeOnce = async (): Promise<void> => {
    const from = checkpoint
    // The head first: every event up to it is committed, so the read below sees them all.
    const head = await events.headPosition()
    let next: bigint | undefined
    const after = { after: from, categories: projection.categories, maxCount: 1 }
    for await (const event of events.readAll(after)) {
      next = event.position
      break
    }
    release((target) => target <= head && (next === undefined || next > target))
  }

  const probe = (): void => {
    if (!started || waiters.size === 0) return
    if (probing) {
      probeAgain = true
      return
    }

    probing = true
    probeOnce()
      .catch((err: unknown) => log.warn({ err }, 'projection progress probe failed'))
      .finally(() => {
        probing = false
        if (probeAgain) {
          probeAgain = false
          probe()
        }
      })
  }

  const reachedNow = (target: bigint): boolean =>
    started && checkpoint !== undefined && target <= checkpoint

  return {
    start(position) {
      started = true
      checkpoint = position
      release(reachedNow)
      probe()
    },

    wait(target, timeoutMs) {
      if (reachedNow(target)) return Promise.resolve()

      return new Promise<void>((resolve, reject) => {
        let timeout: NodeJS.Timeout | undefined
        const settle = (): void => {
          clearTimeout(timeout)
          waiters.delete(waiter)
        }
        const waiter: Waiter = {
          target,
          resolve: () => (settle(), resolve()),
          reject: (err) => (settle(), reject(err)),
        }
        if (Number.isFinite(timeoutMs)) {
          timeout = setTimeout(
            () =>
              waiter.reject(new ProjectionTimeoutError(projection.name, target, checkpoint ?? 0n)),
            timeoutMs,
          )
        }
        waiters.add(waiter)
        probe()
      })
    },

    committed(position) {
      checkpoint = position
      release(reachedNow)
      probe()
    },

    stop(err) {
      for (const waiter of [...waiters]) waiter.reject(err)
    },
  }
}
