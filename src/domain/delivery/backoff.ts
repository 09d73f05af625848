/** Default wait for a recipient's acknowledgement before the first re-push (PARLEY_ACK_TIMEOUT_MS). */
export const DEFAULT_ACK_TIMEOUT_MS = 5000
/** Default number of pushes per message and recipient, the first included (PARLEY_ACK_MAX_ATTEMPTS). */
export const DEFAULT_ACK_MAX_ATTEMPTS = 5
/** No wait between pushes grows beyond this, whatever the attempt. */
export const MAX_BACKOFF_MS = 5 * 60_000

export interface DeliveryPolicy {
  ackTimeoutMs: number
  maxAttempts: number
}

/**
 * How long to wait for an acknowledgement after push number `attempt` (1-based): the timeout,
 * doubled for each earlier push, capped. Deterministic, so a replay computes the same due times.
 */
export function ackWaitAfter(attempt: number, ackTimeoutMs: number): number {
  return Math.min(ackTimeoutMs * 2 ** Math.max(0, attempt - 1), MAX_BACKOFF_MS)
}
