import type { Decider } from '../shared/decider'
import type { Participant } from '../shared/participant'
import type { DisconnectReason, PresenceEvent, PresenceStatus } from './events'
import type { PresenceThresholds } from './thresholds'

export type PresenceCommand =
  | { type: 'Connect'; who: Participant; connectionId: string; nodeId: number; now: number }
  | { type: 'Beat'; who: Participant; connectionId: string; now: number }
  | {
      type: 'Disconnect'
      who: Participant
      connectionId: string
      reason: DisconnectReason
      thresholds: PresenceThresholds
      now: number
    }
  /** The monitor's periodic check: time out silent connections, go offline, leave. */
  | { type: 'Sweep'; who: Participant; thresholds: PresenceThresholds; now: number }

export interface PresenceState {
  /** null before the first connection. */
  status: PresenceStatus | null
  /** Last beat (or opening) of each connection not yet closed. */
  connections: Map<string, number>
  lastHeartbeatAt: number | null
}

/**
 * A person's presence (stream `presence-<role>-<id>`), judged by application heartbeats only.
 * A person is online while any connection has beaten within the offline threshold; one late
 * close or time-out of an old socket therefore never undoes a reconnect. Leaving is decided once:
 * a second monitor racing for it loses the revision check, re-reads, and finds nothing to do.
 */
export const presenceDecider: Decider<PresenceCommand, PresenceEvent, PresenceState> = {
  initialState: () => ({ status: null, connections: new Map(), lastHeartbeatAt: null }),

  decide(c, s) {
    switch (c.type) {
      case 'Connect':
        return [
          {
            type: 'ConnectionOpened',
            data: { who: c.who, connectionId: c.connectionId, nodeId: c.nodeId, at: c.now },
          },
          ...comeOnline(c.who, s, c.now),
        ]
      case 'Beat':
        // A beat on a connection the state no longer holds (timed out by another node's sweep
        // while its socket lived on) opens it again rather than being lost.
        if (!s.connections.has(c.connectionId)) {
          return presenceDecider.decide({ ...c, type: 'Connect', nodeId: -1 }, s)
        }
        return [
          {
            type: 'HeartbeatRecorded',
            data: { who: c.who, connectionId: c.connectionId, at: c.now },
          },
          ...comeOnline(c.who, s, c.now),
        ]
      case 'Disconnect': {
        if (!s.connections.has(c.connectionId)) return []
        const closed: PresenceEvent = {
          type: 'ConnectionClosed',
          data: { who: c.who, connectionId: c.connectionId, reason: c.reason, at: c.now },
        }
        const rest = new Map(s.connections)
        rest.delete(c.connectionId)
        return [closed, ...goOffline(c.who, { ...s, connections: rest }, c.thresholds, c.now)]
      }
      case 'Sweep':
        return sweep(c.who, s, c.thresholds, c.now)
    }
  },

  evolve(s, e) {
    switch (e.type) {
      case 'ConnectionOpened':
      case 'HeartbeatRecorded': {
        const connections = new Map(s.connections).set(e.data.connectionId, e.data.at)
        return { ...s, connections, lastHeartbeatAt: Math.max(s.lastHeartbeatAt ?? 0, e.data.at) }
      }
      case 'ConnectionClosed': {
        const connections = new Map(s.connections)
        connections.delete(e.data.connectionId)
        return { ...s, connections }
      }
      case 'WentOnline':
        return { ...s, status: 'online' }
      case 'WentOffline':
        return { ...s, status: 'offline' }
      case 'PersonLeft':
        return { ...s, status: 'left' }
      default:
        // An event type this version does not know (written by a newer one) changes nothing.
        return s
    }
  },
}

function comeOnline(who: Participant, s: PresenceState, now: number): PresenceEvent[] {
  return s.status === 'online' ? [] : [{ type: 'WentOnline', data: { who, at: now } }]
}

const isLive = (lastBeat: number, t: PresenceThresholds, now: number): boolean =>
  now - lastBeat < t.offlineAfterMs

function goOffline(
  who: Participant,
  s: PresenceState,
  t: PresenceThresholds,
  now: number,
): PresenceEvent[] {
  if (s.status !== 'online') return []
  if ([...s.connections.values()].some((beat) => isLive(beat, t, now))) return []
  return [
    { type: 'WentOffline', data: { who, lastHeartbeatAt: s.lastHeartbeatAt ?? now, at: now } },
  ]
}

function sweep(
  who: Participant,
  s: PresenceState,
  t: PresenceThresholds,
  now: number,
): PresenceEvent[] {
  const events: PresenceEvent[] = []
  const rest = new Map(s.connections)
  for (const [connectionId, beat] of s.connections) {
    if (isLive(beat, t, now)) continue
    rest.delete(connectionId)
    const reason = 'heartbeat_timeout'
    events.push({ type: 'ConnectionClosed', data: { who, connectionId, reason, at: now } })
  }
  events.push(...goOffline(who, { ...s, connections: rest }, t, now))

  const offline = s.status === 'offline' || events.some((e) => e.type === 'WentOffline')
  const last = s.lastHeartbeatAt ?? now
  if (offline && rest.size === 0 && now - last >= t.leaveAfterMs) {
    events.push({ type: 'PersonLeft', data: { who, lastHeartbeatAt: last, at: now } })
  }
  return events
}
