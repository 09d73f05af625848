/** One slot of the heartbeat wheel: 100 ms. */
export const WHEEL_TICK_MS = 100

export interface Beating {
  send(frame: Record<string, unknown>): void
}

/**
 * Sends `{type:'heartbeat'}` on every socket once per `periodMs`, spread evenly over the period
 * (a socket's slot is its index modulo the slots), with one timer for all sockets rather than one
 * per socket. Clients beat like this in production, so the servers see the same trickle.
 */
export class HeartbeatWheel {
  private readonly sockets: Beating[] = []
  private readonly slots: number
  private slot = 0
  private timer: NodeJS.Timeout | undefined
  /** Heartbeats sent so far, with the send time of the latest per socket index. */
  sent = 0
  readonly sentAt: number[] = []

  constructor(
    readonly periodMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.slots = Math.max(1, Math.round(periodMs / WHEEL_TICK_MS))
  }

  /** Adds a socket; returns its index (its slot is index modulo the slot count). */
  add(socket: Beating): number {
    this.sockets.push(socket)
    return this.sockets.length - 1
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), WHEEL_TICK_MS)
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private tick(): void {
    const now = this.now()
    for (let i = this.slot; i < this.sockets.length; i += this.slots) {
      this.sockets[i].send({ type: 'heartbeat' })
      this.sentAt[i] = now
      this.sent += 1
    }
    this.slot = (this.slot + 1) % this.slots
  }
}
