import type { PresenceEvent, PresenceStatus } from '../../domain/presence/events'
import { participantKey, type Role } from '../../domain/shared/participant'
import { StreamCategory } from '../../domain/shared/streams'
import type { RecordedEvent } from '../../infra/eventstore/port'
import type { DocChange } from '../../infra/readmodel/port'
import type { Projection } from '../projection'

export const PRESENCE = 'presence'

/** A person's presence as the API shows it, plus what the presence monitor queries. */
export type PresenceDoc = {
  role: Role
  id: string
  status: PresenceStatus
  lastHeartbeatAt: number
  /** Connections opened and not yet closed (across every node). */
  connections: number
  /** When the current status began. */
  since: number
}

const PRESENCE_EVENTS = new Set<string>([
  'ConnectionOpened',
  'HeartbeatRecorded',
  'ConnectionClosed',
  'WentOnline',
  'WentOffline',
  'PersonLeft',
])

const presenceRef = (event: RecordedEvent) => {
  if (!PRESENCE_EVENTS.has(event.type)) return []
  const { who } = (event as PresenceEvent).data
  return [{ collection: PRESENCE, key: participantKey(who) }]
}

function evolve(doc: PresenceDoc, e: PresenceEvent): PresenceDoc {
  switch (e.type) {
    case 'ConnectionOpened':
      return {
        ...doc,
        connections: doc.connections + 1,
        lastHeartbeatAt: Math.max(doc.lastHeartbeatAt, e.data.at),
      }
    case 'HeartbeatRecorded':
      return { ...doc, lastHeartbeatAt: Math.max(doc.lastHeartbeatAt, e.data.at) }
    case 'ConnectionClosed':
      return { ...doc, connections: Math.max(0, doc.connections - 1) }
    case 'WentOnline':
      return { ...doc, status: 'online', since: e.data.at }
    case 'WentOffline':
      return { ...doc, status: 'offline', since: e.data.at }
    case 'PersonLeft':
      return { ...doc, status: 'left', since: e.data.at }
    default:
      return doc
  }
}

/**
 * Presence by person, from the `presence-<role>-<id>` streams: the presence API reads it, and the
 * presence monitor finds in it who is due to go offline or to leave, so those deadlines survive
 * a restart.
 */
export const presenceProjection: Projection = {
  name: 'presence',
  collections: [
    {
      name: PRESENCE,
      indexes: [
        ['status', 'lastHeartbeatAt'],
        ['role', 'status'],
        ['role', 'id'],
        ['role', 'status', 'id'],
      ],
    },
  ],
  categories: [StreamCategory.Presence],
  reads: presenceRef,

  apply(event, read): DocChange[] {
    if (!PRESENCE_EVENTS.has(event.type)) return []
    const e = event as PresenceEvent
    const key = participantKey(e.data.who)
    const current = (read(PRESENCE, key) as PresenceDoc | undefined) ?? {
      role: e.data.who.role,
      id: e.data.who.id,
      status: 'offline',
      lastHeartbeatAt: e.data.at,
      connections: 0,
      since: e.data.at,
    }
    return [{ collection: PRESENCE, key, doc: evolve(current, e) }]
  },
}
