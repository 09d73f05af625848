import type { DeskEvent } from '../../domain/desk/desk'
import { StreamCategory } from '../../domain/shared/streams'
import type { RecordedEvent } from '../../infra/eventstore/port'
import type { DocChange } from '../../infra/readmodel/port'
import type { Projection } from '../projection'

export const AGENTS = 'agents'

/** An agent's desk: seats (null until the agent first sets them) and the conversations held. */
export type AgentDoc = {
  agentId: string
  seats: number | null
  conversations: string[]
  openConversations: number
}

const DESK_EVENTS = new Set<string>(['AgentSeatsSet', 'SeatTaken', 'SeatReleased'])

const emptyDesk = (agentId: string): AgentDoc => ({
  agentId,
  seats: null,
  conversations: [],
  openConversations: 0,
})

function withConversations(doc: AgentDoc, conversations: string[]): AgentDoc {
  return { ...doc, conversations, openConversations: conversations.length }
}

function evolve(doc: AgentDoc, event: DeskEvent): AgentDoc {
  switch (event.type) {
    case 'AgentSeatsSet':
      return { ...doc, seats: event.data.seats }
    case 'SeatTaken': {
      const { conversationId } = event.data
      if (doc.conversations.includes(conversationId)) return doc
      return withConversations(doc, [...doc.conversations, conversationId])
    }
    case 'SeatReleased': {
      const { conversationId } = event.data
      return withConversations(
        doc,
        doc.conversations.filter((id) => id !== conversationId),
      )
    }
  }
}

const agentRef = (event: RecordedEvent) =>
  DESK_EVENTS.has(event.type)
    ? [{ collection: AGENTS, key: (event as DeskEvent).data.agentId }]
    : []

/** Agents' desks from the `agent-<id>` streams, for dashboards and the admin API. */
export const agentsProjection: Projection = {
  name: 'agents',
  collections: [{ name: AGENTS, indexes: [] }],
  categories: [StreamCategory.Agent],
  reads: agentRef,

  apply(event, read): DocChange[] {
    if (!DESK_EVENTS.has(event.type)) return []

    const e = event as DeskEvent
    const key = e.data.agentId
    const current = (read(AGENTS, key) as AgentDoc | undefined) ?? emptyDesk(key)
    const next = evolve(current, e)
    return next === current ? [] : [{ collection: AGENTS, key, doc: next }]
  },
}
