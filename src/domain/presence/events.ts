import type { Participant } from '../shared/participant'

/** Why a connection ended. Wire values; new ones may be added, none is renamed. */
export const DisconnectReason = {
  Closed: 'closed',
  HeartbeatTimeout: 'heartbeat_timeout',
  ServerShutdown: 'server_shutdown',
} as const
export type DisconnectReason = (typeof DisconnectReason)[keyof typeof DisconnectReason]

/** A person's presence, as the protocol reports it. */
export const PresenceStatus = { Online: 'online', Offline: 'offline', Left: 'left' } as const
export type PresenceStatus = (typeof PresenceStatus)[keyof typeof PresenceStatus]

type Who = Participant

/** A socket opened; its opening counts as a heartbeat. */
export interface ConnectionOpened {
  type: 'ConnectionOpened'
  data: { who: Who; connectionId: string; nodeId: number; at: number }
}

/** An application heartbeat on one connection. Pruned once a newer beat supersedes it. */
export interface HeartbeatRecorded {
  type: 'HeartbeatRecorded'
  data: { who: Who; connectionId: string; at: number }
}

export interface ConnectionClosed {
  type: 'ConnectionClosed'
  data: { who: Who; connectionId: string; reason: DisconnectReason; at: number }
}

/** The person has a live connection again (first one, or back within or after the leave window). */
export interface WentOnline {
  type: 'WentOnline'
  data: { who: Who; at: number }
}

/** No connection has beaten within the offline threshold. */
export interface WentOffline {
  type: 'WentOffline'
  data: { who: Who; lastHeartbeatAt: number; at: number }
}

/** Silent past the leave threshold: the person is gone; their sessions end or move. */
export interface PersonLeft {
  type: 'PersonLeft'
  data: { who: Who; lastHeartbeatAt: number; at: number }
}

export type PresenceEvent =
  ConnectionOpened | HeartbeatRecorded | ConnectionClosed | WentOnline | WentOffline | PersonLeft
