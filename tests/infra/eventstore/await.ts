import type { Observable } from 'rxjs'

/**
 * Waiting helpers for event-store tests: each waits for the thing itself, with a timeout whose
 * message says what did not arrive, instead of sleeping a fixed time.
 */

/** Default patience of the helpers: long enough for a slow CI disk, short enough to fail fast. */
export const DEFAULT_WAIT_MS = 10_000

/** Resolves as `promise` does, or rejects with "<what> did not happen within <ms> ms". */
export async function within<T>(
  what: string | (() => string),
  promise: Promise<T>,
  ms = DEFAULT_WAIT_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const label = typeof what === 'string' ? what : what()
      reject(new Error(`${label} did not happen within ${ms} ms`))
    }, ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A subscription that records what it receives, and lets a test await a count or the end. */
export interface Recorder<T> {
  readonly values: T[]
  /** Resolves once `count` values have arrived. */
  received(count: number, ms?: number): Promise<T[]>
  /** Resolves once the observable completes. */
  completed(ms?: number): Promise<void>
  unsubscribe(): void
}

export function record<T>(
  source: Observable<T>,
  onValue?: (value: T, index: number) => void,
): Recorder<T> {
  const values: T[] = []
  const waiters = new Set<() => void>()
  let done = false
  let failure: unknown
  const wake = (): void => waiters.forEach((waiter) => waiter())

  const subscription = source.subscribe({
    next(value) {
      values.push(value)
      onValue?.(value, values.length - 1)
      wake()
    },
    error(err) {
      failure = err
      done = true
      wake()
    },
    complete() {
      done = true
      wake()
    },
  })

  const until = (ready: () => boolean, what: string, ms?: number): Promise<void> => {
    const settled = new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (failure !== undefined) reject(failure)
        else if (ready()) resolve()
        else if (done) reject(new Error(`${what}: completed after ${values.length} values`))
        else return
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
    return within(() => `${what} (got ${values.length})`, settled, ms)
  }

  return {
    values,
    async received(count, ms) {
      await until(() => values.length >= count, `receiving ${count} values`, ms)
      return values.slice(0, count)
    },
    completed: (ms) => until(() => done, 'completion', ms),
    unsubscribe: () => subscription.unsubscribe(),
  }
}
