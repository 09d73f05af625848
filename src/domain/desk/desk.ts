import type { Decider } from '../shared/decider'
import { DomainError, ErrorCode } from '../shared/errors'

/** Default number of conversations an agent holds at once (PARLEY_AGENT_SEATS). */
export const DEFAULT_AGENT_SEATS = 5

/** A stable code for "this agent has no free seat"; internal, the dispatcher tries another. */
export const SEATS_FULL = 'seats_full' as const

export type DeskEvent =
  | { type: 'AgentSeatsSet'; data: { agentId: string; seats: number; at: number } }
  | { type: 'SeatTaken'; data: { agentId: string; conversationId: string; at: number } }
  | {
      type: 'SeatReleased'
      data: { agentId: string; conversationId: string; reason: string; at: number }
    }

export type DeskCommand =
  | { type: 'SetSeats'; agentId: string; seats: number; now: number }
  | { type: 'TakeSeat'; agentId: string; conversationId: string; defaultSeats: number; now: number }
  | { type: 'ReleaseSeat'; agentId: string; conversationId: string; reason: string; now: number }

export interface DeskState {
  /** null until the agent first connects with a seat count; the default applies then. */
  seats: number | null
  conversations: Set<string>
}

export const seatsOf = (s: DeskState, defaultSeats: number): number => s.seats ?? defaultSeats

/**
 * The agent desk (stream `agent-<id>`): the seats an agent has and the conversations holding
 * them. Taking a seat is decided here, against the stream's revision, so two nodes can never
 * book more conversations than seats.
 */
export const deskDecider: Decider<DeskCommand, DeskEvent, DeskState> = {
  initialState: () => ({ seats: null, conversations: new Set() }),

  decide(c, s) {
    switch (c.type) {
      case 'SetSeats':
        if (s.seats === c.seats) return []
        return [{ type: 'AgentSeatsSet', data: { agentId: c.agentId, seats: c.seats, at: c.now } }]
      case 'TakeSeat': {
        if (s.conversations.has(c.conversationId)) return []
        if (s.conversations.size >= seatsOf(s, c.defaultSeats)) {
          throw new DomainError(ErrorCode.Conflict, 'agent has no free seat', {
            reason: SEATS_FULL,
          })
        }
        const data = { agentId: c.agentId, conversationId: c.conversationId, at: c.now }
        return [{ type: 'SeatTaken', data }]
      }
      case 'ReleaseSeat': {
        if (!s.conversations.has(c.conversationId)) return []
        const { agentId, conversationId, reason, now } = c
        return [{ type: 'SeatReleased', data: { agentId, conversationId, reason, at: now } }]
      }
    }
  },

  evolve(s, e) {
    switch (e.type) {
      case 'AgentSeatsSet':
        return { ...s, seats: e.data.seats }
      case 'SeatTaken':
        return { ...s, conversations: new Set(s.conversations).add(e.data.conversationId) }
      case 'SeatReleased': {
        const conversations = new Set(s.conversations)
        conversations.delete(e.data.conversationId)
        return { ...s, conversations }
      }
      default:
        // An event type this version does not know (written by a newer one) changes nothing.
        return s
    }
  },
}
