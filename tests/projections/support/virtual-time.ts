import { VirtualTimeScheduler } from 'rxjs'

/**
 * Event-loop turns one `settle` lets pass. A re-push is a chain of promises (frame lookup, command,
 * append, the live feed, the next timer) and a read-model commit waits one `setImmediate`; twenty
 * turns cover the longest chain here with room to spare, and take well under a millisecond.
 */
export const DEFAULT_SETTLE_TURNS = 20

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Virtual time for the process managers: an rxjs VirtualTimeScheduler whose clock moves only when
 * a test moves it. The managers' work between two timer ticks is asynchronous, so time is moved
 * one due instant at a time, and before each step the pending promises get event-loop turns to
 * run out. Nothing waits in real time.
 */
export class VirtualClock {
  readonly scheduler = new VirtualTimeScheduler()

  constructor(start = 0) {
    this.scheduler.frame = start
  }

  /** The virtual now, for ConversationCommands, the event store and the fake channels. */
  readonly now = (): number => this.scheduler.now()

  /** Lets promises, microtasks and immediates queued so far (and those they queue) run out. */
  async settle(turns = DEFAULT_SETTLE_TURNS): Promise<void> {
    for (let i = 0; i < turns; i++) await nextTurn()
  }

  /**
   * Runs every timer due up to `time`, in due order and one instant at a time, settling the work
   * each tick starts before looking for the next timer; then leaves the clock at `time`.
   */
  async advanceTo(time: number): Promise<void> {
    if (time < this.now()) throw new Error(`cannot move virtual time back to ${time}`)

    for (;;) {
      await this.settle()
      const next = this.scheduler.actions[0]
      if (next === undefined || next.delay > time) break
      this.scheduler.maxFrames = next.delay
      this.scheduler.flush()
    }
    this.scheduler.frame = time
  }

  advanceBy(ms: number): Promise<void> {
    return this.advanceTo(this.now() + ms)
  }

  /**
   * Settles until `check` holds, without moving the clock. Fails with a message naming what did
   * not happen, after `rounds` settles.
   */
  async until(what: string, check: () => boolean | Promise<boolean>, rounds = 50): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      if (await check()) return
      await this.settle()
    }
    if (await check()) return
    throw new Error(`${what} did not happen within ${rounds} settles at virtual time ${this.now()}`)
  }
}
