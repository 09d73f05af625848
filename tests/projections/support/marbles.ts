import { map, merge, NEVER, timer } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import type { Test } from 'tap'

/** Something a test saw happen at a virtual time: a push received, an event recorded. */
export interface Happened<T> {
  at: number
  value: T
}

/**
 * Compares what happened on the virtual clock with a marble diagram. The happenings are replayed
 * as an observable on a TestScheduler, each at its time after `origin`, and checked with
 * `expectObservable(...).toBe(marbles, values)` while subscribed as `subscription` says (for
 * example `'^ 99999ms !'`: watched for 100 s, so "nothing after the last marble" is asserted too).
 */
export function expectMarbles<T>(
  t: Test,
  happened: readonly Happened<T>[],
  origin: number,
  expected: { marbles: string; values: Record<string, T>; subscription: string },
): void {
  const scheduler = new TestScheduler((actual, wanted) => {
    t.same(actual, wanted, `happenings match ${expected.marbles}`)
  })
  scheduler.run(({ expectObservable }) => {
    const replay$ = merge(
      NEVER,
      ...happened.map(({ at, value }) => timer(at - origin).pipe(map(() => value))),
    )
    expectObservable(replay$, expected.subscription).toBe(expected.marbles, expected.values)
  })
}
