import type { AckFrame, MAX_ACK_IDS } from '../domain/protocol/frames'
import type { Clock } from './types'

/** Most ids per `ack` frame; typed from frames.ts so a change there fails the build here. */
export const ACK_BATCH_LIMIT: typeof MAX_ACK_IDS = 1000

export interface AckerDeps {
  clock: Clock
  delayMs: number
  /** Writes a frame; false when no socket is open (the ids wait for the next one). */
  write(frame: AckFrame): boolean
}

/**
 * Acknowledgements, batched: ids collect for `delayMs` and go out in frames of at most
 * `ACK_BATCH_LIMIT`. Ids are added only once the app holds the item. Ids that find no open
 * socket wait for the next one; acking something the server no longer waits on is harmless.
 */
export class Acker {
  private readonly waiting = new Set<string>()
  private timer: unknown

  constructor(private readonly deps: AckerDeps) {}

  add(messageId: string): void {
    this.waiting.add(messageId)
    if (this.waiting.size >= ACK_BATCH_LIMIT) return this.flush()
    if (this.timer === undefined) {
      this.timer = this.deps.clock.setTimeout(() => {
        this.timer = undefined
        this.flush()
      }, this.deps.delayMs)
    }
  }

  flush(): void {
    this.stop()
    while (this.waiting.size > 0) {
      const messageIds = [...this.waiting].slice(0, ACK_BATCH_LIMIT)
      if (!this.deps.write({ type: 'ack', messageIds })) return
      for (const id of messageIds) this.waiting.delete(id)
    }
  }

  stop(): void {
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer)
    this.timer = undefined
  }
}
