import type { Content } from '../../src/domain/content/schema'
import type { CloseReason, ConversationEvent } from '../../src/domain/conversation/events'
import type { DeskEvent } from '../../src/domain/desk/desk'
import type { Participant } from '../../src/domain/shared/participant'
import { agentStream, conversationStream } from '../../src/domain/shared/streams'
import type { RecordedEvent } from '../../src/infra/eventstore/port'
import type { Doc } from '../../src/infra/readmodel/port'
import { applyToMemory, type Projection } from '../../src/projections/projection'

export type AnyEvent = ConversationEvent | DeskEvent

export const user = (id: string): Participant => ({ role: 'user', id })
export const agent = (id: string): Participant => ({ role: 'agent', id })
export const text = (body: string): Content => ({ format: 'text', text: body })

// Event constructors: conversation `c`, its seq slot `seq`, and a clock `at`.
export const opened = (c: string, userId: string, at = 1_000): ConversationEvent => ({
  type: 'ConversationOpened',
  data: { conversationId: c, userId, openedAt: at },
})
export const queued = (c: string, seq: number, position = 1, at = 1_001): ConversationEvent => ({
  type: 'ConversationQueued',
  data: { conversationId: c, position, messageId: `${c}-m${seq}`, seq, at },
})
export const assigned = (
  c: string,
  seq: number,
  agentId: string,
  at = 1_002,
): ConversationEvent => ({
  type: 'ConversationAssigned',
  data: { conversationId: c, agentId, messageId: `${c}-m${seq}`, seq, at },
})
export const sent = (c: string, seq: number, from: Participant, at = 1_003): ConversationEvent => ({
  type: 'MessageSent',
  data: {
    conversationId: c,
    messageId: `${c}-m${seq}`,
    seq,
    clientMsgId: `client-${seq}`,
    from,
    content: text(`message ${seq}`),
    sentAt: at,
  },
})
export const pushed = (
  c: string,
  seq: number,
  recipient: Participant,
  attempt: number,
  at = 2_000,
): ConversationEvent => ({
  type: 'MessagePushed',
  data: {
    conversationId: c,
    messageId: `${c}-m${seq}`,
    seq,
    recipient,
    attempt,
    pushedAt: at,
    nextDueAt: at + 1_000 * attempt,
  },
})
export const acked = (c: string, seq: number, recipient: Participant): ConversationEvent => ({
  type: 'MessageAcknowledged',
  data: { conversationId: c, messageId: `${c}-m${seq}`, recipient, at: 3_000 },
})
export const abandoned = (c: string, seq: number, recipient: Participant): ConversationEvent => ({
  type: 'PushAbandoned',
  data: { conversationId: c, messageId: `${c}-m${seq}`, recipient, attempts: 5, at: 4_000 },
})
export const closed = (
  c: string,
  seq: number,
  agentId: string | null,
  reason: CloseReason = 'agent_closed',
): ConversationEvent => ({
  type: 'ConversationClosed',
  data: {
    conversationId: c,
    reason,
    closedBy: agentId === null ? null : agent(agentId),
    agentId,
    messageId: `${c}-m${seq}`,
    seq,
    at: 5_000,
  },
})
export const seatsSet = (agentId: string, seats: number): DeskEvent => ({
  type: 'AgentSeatsSet',
  data: { agentId, seats, at: 900 },
})
export const seatTaken = (agentId: string, c: string): DeskEvent => ({
  type: 'SeatTaken',
  data: { agentId, conversationId: c, at: 1_002 },
})
export const seatReleased = (agentId: string, c: string): DeskEvent => ({
  type: 'SeatReleased',
  data: { agentId, conversationId: c, reason: 'closed', at: 5_000 },
})

/** The stream an event belongs to: the agent's desk or the conversation. */
export function streamOf(event: AnyEvent): string {
  switch (event.type) {
    case 'AgentSeatsSet':
    case 'SeatTaken':
    case 'SeatReleased':
      return agentStream(event.data.agentId)
    default:
      return conversationStream(event.data.conversationId)
  }
}

/** The events as a log would record them, at positions 1, 2, 3... */
export function recordAll(events: readonly AnyEvent[]): RecordedEvent[] {
  return events.map((event, i) => ({
    id: `event-${i + 1}`,
    streamName: streamOf(event),
    revision: 0n,
    position: BigInt(i + 1),
    type: event.type,
    data: event.data,
    metadata: {},
    recordedAt: 0,
  }))
}

/** Runs a history through a projection in memory, as the runner would over a store. */
export function project(projection: Projection, events: readonly AnyEvent[]): Map<string, Doc> {
  const docs = new Map<string, Doc>()
  const categories = new Set(projection.categories)
  for (const event of recordAll(events)) {
    if (categories.has(event.streamName.split('-')[0])) applyToMemory(projection, docs, event)
  }
  return docs
}
