import type { Clock } from '../../../src/client/types'

interface Timer {
  at: number
  order: number
  fn: () => void
}

/** Lets promise callbacks and queued socket events run; no time passes on the virtual clock. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise<void>((resolve) => setImmediate(resolve))
}

/**
 * A clock whose time moves only when a test says so. `advance` fires the due timers in time
 * order, letting promises and socket events settle after each, so a test of minutes of backoff
 * and resends runs in milliseconds.
 */
export class VirtualClock implements Clock {
  private time = 1_800_000_000_000
  private order = 0
  private readonly timers = new Map<number, Timer>()

  now(): number {
    return this.time
  }

  setTimeout(fn: () => void, ms: number): unknown {
    this.order += 1
    this.timers.set(this.order, { at: this.time + Math.max(0, ms), order: this.order, fn })
    return this.order
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number)
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms
    await settle()
    for (let fired = 0; fired < 100_000; fired += 1) {
      const next = [...this.timers.values()]
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.order - b.order)[0]
      if (!next) break
      this.timers.delete(next.order)
      this.time = next.at
      next.fn()
      await settle()
    }
    this.time = end
    await settle()
  }

  /** Advances in steps until `done()` holds, failing with `what` after `maxMs` of virtual time. */
  async until(what: string, done: () => boolean, maxMs = 120_000, stepMs = 100): Promise<void> {
    for (let waited = 0; !done(); waited += stepMs) {
      if (waited >= maxMs) throw new Error(`${what}: not within ${maxMs} ms of virtual time`)
      await this.advance(stepMs)
    }
  }
}
