/** Default silence after which a connection is closed and its owner offline (PARLEY_OFFLINE_AFTER_MS). */
export const DEFAULT_OFFLINE_AFTER_MS = 30_000
/** Default silence after which a person has left (PARLEY_LEAVE_AFTER_MS). */
export const DEFAULT_LEAVE_AFTER_MS = 120_000

/** Default period of the presence monitor's check (PARLEY_PRESENCE_TICK_MS). */
export const DEFAULT_PRESENCE_TICK_MS = 1000

export interface PresenceThresholds {
  offlineAfterMs: number
  leaveAfterMs: number
}

/**
 * The heartbeat interval a client should use: a third of the offline threshold, so that one late
 * or lost beat never flips a healthy client offline (the original design beat every 30 s with a
 * 30 s threshold, which flips on a single late beat).
 */
export const recommendedHeartbeatMs = (offlineAfterMs: number): number =>
  Math.floor(offlineAfterMs / 3)
