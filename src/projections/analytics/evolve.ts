import type { ConversationEvent } from '../../domain/conversation/events'
import { Role, type Participant } from '../../domain/shared/participant'
import type {
  AgentTrack,
  AnalyticsState,
  Assignment,
  ConversationTrack,
  DayCount,
  DeliveryTrack,
} from './state'

/** What the fold reads of a stored event: its type name and data, as the log has them. */
export interface AnalyticsEvent {
  type: string
  data: unknown
}

type DataOf<T extends ConversationEvent['type']> = Extract<ConversationEvent, { type: T }>['data']

/**
 * Folds one event into the analytics state and returns it. No I/O and no clock: the same events
 * always give the same state. It updates the given state in place, as the conversation decider's
 * `evolve` does, because a report folds millions of events and keeps only the latest state.
 *
 * Times are the ones in the event data (`sentAt`, `at`, `pushedAt`): the server's clock when the
 * command was decided. Events of other categories and unknown types are counted and skipped, and
 * a conversation first seen halfway (a replay window that starts late) is tracked from there on.
 */
export function evolveAnalytics(state: AnalyticsState, event: AnalyticsEvent): AnalyticsState {
  state.events += 1
  switch (event.type) {
    case 'ConversationOpened':
      onOpened(state, event.data as DataOf<'ConversationOpened'>)
      break
    case 'ConversationAssigned':
      onAssigned(state, event.data as DataOf<'ConversationAssigned'>)
      break
    case 'ConversationRequeued':
      onRequeued(state, event.data as DataOf<'ConversationRequeued'>)
      break
    case 'MessageSent':
      onSent(state, event.data as DataOf<'MessageSent'>)
      break
    case 'MessagePushed':
      onPushed(state, event.data as DataOf<'MessagePushed'>)
      break
    case 'MessageAcknowledged':
      onAcknowledged(state, event.data as DataOf<'MessageAcknowledged'>)
      break
    case 'PushAbandoned':
      onAbandoned(state, event.data as DataOf<'PushAbandoned'>)
      break
    case 'ConversationClosed':
      onClosed(state, event.data as DataOf<'ConversationClosed'>)
      break
  }
  return state
}

function onOpened(state: AnalyticsState, data: DataOf<'ConversationOpened'>): void {
  dayOf(state, data.openedAt).opened += 1
  trackOf(state, data.conversationId)
}

function onAssigned(state: AnalyticsState, data: DataOf<'ConversationAssigned'>): void {
  const track = trackOf(state, data.conversationId)
  endAssignment(state, track)

  agentOf(state, data.agentId).assignments += 1
  track.assignment = {
    agentId: data.agentId,
    assignedAt: data.at,
    owedSince: track.unansweredUserSince === null ? null : data.at,
    answered: false,
  }
}

function onRequeued(state: AnalyticsState, data: DataOf<'ConversationRequeued'>): void {
  endAssignment(state, trackOf(state, data.conversationId))
}

function onSent(state: AnalyticsState, data: DataOf<'MessageSent'>): void {
  const { from, sentAt } = data
  const format = data.content?.format ?? 'unknown'
  const bySender = state.formats.get(format) ?? new Map<string, number>()
  bySender.set(from.role, (bySender.get(from.role) ?? 0) + 1)
  state.formats.set(format, bySender)
  state.messages.set(data.messageId, { senderRole: from.role, delivered: false })

  const track = trackOf(state, data.conversationId)
  const assignment = track.assignment
  if (from.role === Role.User) {
    track.unansweredUserSince ??= sentAt
    if (assignment && !assignment.answered) assignment.owedSince ??= sentAt
    return
  }

  track.unansweredUserSince = null
  if (!assignment || assignment.answered || assignment.agentId !== from.id) return
  // A greeting before the user has asked anything answers nothing: the clock has not started.
  if (assignment.owedSince === null) return

  assignment.answered = true
  agentOf(state, from.id).firstResponses.push(sentAt - assignment.owedSince)
}

function onPushed(state: AnalyticsState, data: DataOf<'MessagePushed'>): void {
  const delivery = deliveryOf(state, data.messageId, data.recipient)
  if (!delivery) return

  delivery.pushes += 1
  delivery.firstPushAt ??= data.pushedAt
}

function onAcknowledged(state: AnalyticsState, data: DataOf<'MessageAcknowledged'>): void {
  const delivery = deliveryOf(state, data.messageId, data.recipient)
  if (!delivery || delivery.ackedAt !== null) return

  delivery.ackedAt = data.at
  if (delivery.firstPushAt !== null) state.ackLatencies.push(data.at - delivery.firstPushAt)
}

function onAbandoned(state: AnalyticsState, data: DataOf<'PushAbandoned'>): void {
  const delivery = deliveryOf(state, data.messageId, data.recipient)
  if (delivery) delivery.abandoned = true
}

function onClosed(state: AnalyticsState, data: DataOf<'ConversationClosed'>): void {
  dayOf(state, data.at).closed += 1
  state.closedByReason.set(data.reason, (state.closedByReason.get(data.reason) ?? 0) + 1)

  const track = trackOf(state, data.conversationId)
  const assignment = track.assignment
  if (assignment && assignment.agentId === data.agentId) {
    agentOf(state, assignment.agentId).closeTimes.push(data.at - assignment.assignedAt)
  }
  endAssignment(state, track)
  state.conversations.delete(data.conversationId)
}

/** Ends the current assignment, counting it as unanswered if a first answer was still owed. */
function endAssignment(state: AnalyticsState, track: ConversationTrack): void {
  const assignment: Assignment | null = track.assignment
  if (assignment && !assignment.answered && assignment.owedSince !== null) {
    agentOf(state, assignment.agentId).unanswered += 1
  }
  track.assignment = null
}

function trackOf(state: AnalyticsState, conversationId: string): ConversationTrack {
  let track = state.conversations.get(conversationId)
  if (!track) {
    track = { unansweredUserSince: null, assignment: null }
    state.conversations.set(conversationId, track)
  }
  return track
}

function agentOf(state: AnalyticsState, agentId: string): AgentTrack {
  let agent = state.agents.get(agentId)
  if (!agent) {
    agent = { assignments: 0, firstResponses: [], unanswered: 0, closeTimes: [] }
    state.agents.set(agentId, agent)
  }
  return agent
}

function dayOf(state: AnalyticsState, ms: number): DayCount {
  const day = Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : 'unknown'
  let count = state.days.get(day)
  if (!count) {
    count = { opened: 0, closed: 0 }
    state.days.set(day, count)
  }
  return count
}

/** The delivery of a message (not a notice) to a recipient; undefined for anything else. */
function deliveryOf(
  state: AnalyticsState,
  messageId: string,
  recipient: Participant,
): DeliveryTrack | undefined {
  const message = state.messages.get(messageId)
  if (!message) return undefined

  message.delivered = true
  const key = `${messageId}|${recipient.role}:${recipient.id}`
  let delivery = state.deliveries.get(key)
  if (!delivery) {
    delivery = {
      recipientRole: recipient.role,
      pushes: 0,
      firstPushAt: null,
      ackedAt: null,
      abandoned: false,
    }
    state.deliveries.set(key, delivery)
  }
  return delivery
}
