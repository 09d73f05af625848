/**
 * The delay before reconnect attempt `attempt` (0-based): capped exponential backoff with FULL
 * jitter, a uniform pick in [0, min(max, initial * 2^attempt)), so that many clients dropped at
 * once (a server restart) do not come back in step.
 */
export function reconnectDelay(
  attempt: number,
  bounds: { initialDelayMs: number; maxDelayMs: number },
  random: () => number,
): number {
  const ceiling = Math.min(bounds.maxDelayMs, bounds.initialDelayMs * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * ceiling)
}
