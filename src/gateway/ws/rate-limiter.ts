/**
 * A token bucket: `perSecond` tokens flow in continuously up to `burst`; each frame takes one.
 * Time comes from the caller so tests need no clock.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst
    this.last = now
  }

  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.last)
    this.last = now
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perSecond) / 1000)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
