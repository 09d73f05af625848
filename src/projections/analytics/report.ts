import { distributionOf, type Distribution } from './distribution'
import { evolveAnalytics, type AnalyticsEvent } from './evolve'
import { initialAnalyticsState, type AnalyticsState } from './state'

/** Everything `parley report` shows, derived from the fold's state; durations in ms. */
export interface AnalyticsReport {
  /** Conversation events read. */
  events: number
  conversations: { opened: number; closed: number; closedByReason: Record<string, number> }
  /** Oldest day first. */
  days: DayRow[]
  /** By agent id. */
  agents: AgentRow[]
  /** Most used first. */
  formats: FormatRow[]
  delivery: DeliveryReport
}

export interface DayRow {
  /** UTC, `YYYY-MM-DD`. */
  day: string
  opened: number
  closed: number
}

export interface AgentRow {
  agentId: string
  assignments: number
  /** From the first user message the agent owed an answer to (at the earliest the assignment). */
  firstResponse: Distribution
  /** Assignments that ended with the user's message still unanswered by this agent. */
  unanswered: number
  /** From the assignment to the close, for conversations the agent held when they closed. */
  timeToClose: Distribution
}

export interface FormatRow {
  format: string
  user: number
  agent: number
  total: number
}

/** Delivery of messages (not notices), counted per message and recipient. */
export interface DeliveryReport {
  /** Message and recipient pairs with at least one push or acknowledgement. */
  deliveries: number
  pushes: number
  pushesPerMessage: { mean: number | null; histogram: { pushes: number; deliveries: number }[] }
  /** First push to acknowledgement. */
  ackLatency: Distribution
  /** Acknowledged although no push was recorded (read from the history, say). */
  ackedWithoutPush: number
  /** By recipient role. */
  unacknowledged: UnacknowledgedRow[]
  /** Messages with no push and no acknowledgement recorded at all, by sender role. */
  neverPushed: { senderRole: string; messages: number }[]
}

export interface UnacknowledgedRow {
  recipientRole: string
  deliveries: number
  unacknowledged: number
  /** Given up on (`PushAbandoned`) and never acknowledged since. */
  abandoned: number
  /** Neither acknowledged nor given up: still pending when the log was read. */
  pending: number
}

/** Folds events from a fresh state and reports on them: the whole analysis in one call. */
export function analyzeEvents(events: Iterable<AnalyticsEvent>): AnalyticsReport {
  let state = initialAnalyticsState()
  for (const event of events) state = evolveAnalytics(state, event)
  return analyticsReport(state)
}

/** The report on a folded state. */
export function analyticsReport(state: AnalyticsState): AnalyticsReport {
  const days = [...state.days]
    .map(([day, count]) => ({ day, ...count }))
    .sort((a, b) => (a.day < b.day ? -1 : 1))
  const agents = [...state.agents]
    .map(([agentId, agent]) => ({
      agentId,
      assignments: agent.assignments,
      firstResponse: distributionOf(agent.firstResponses),
      unanswered: agent.unanswered,
      timeToClose: distributionOf(agent.closeTimes),
    }))
    .sort((a, b) => a.agentId.localeCompare(b.agentId, 'en', { numeric: true }))
  const formats = [...state.formats]
    .map(([format, bySender]) => formatRow(format, bySender))
    .sort((a, b) => b.total - a.total || (a.format < b.format ? -1 : 1))

  return {
    events: state.events,
    conversations: {
      opened: days.reduce((sum, d) => sum + d.opened, 0),
      closed: days.reduce((sum, d) => sum + d.closed, 0),
      closedByReason: Object.fromEntries([...state.closedByReason].sort()),
    },
    days,
    agents,
    formats,
    delivery: deliveryReport(state),
  }
}

function formatRow(format: string, bySender: Map<string, number>): FormatRow {
  let total = 0
  for (const count of bySender.values()) total += count
  return { format, user: bySender.get('user') ?? 0, agent: bySender.get('agent') ?? 0, total }
}

function deliveryReport(state: AnalyticsState): DeliveryReport {
  const histogram = new Map<number, number>()
  const byRole = new Map<string, UnacknowledgedRow>()
  let pushes = 0
  let ackedWithoutPush = 0
  for (const delivery of state.deliveries.values()) {
    pushes += delivery.pushes
    histogram.set(delivery.pushes, (histogram.get(delivery.pushes) ?? 0) + 1)
    if (delivery.ackedAt !== null && delivery.firstPushAt === null) ackedWithoutPush += 1

    const role = delivery.recipientRole
    const row = byRole.get(role) ?? {
      recipientRole: role,
      deliveries: 0,
      unacknowledged: 0,
      abandoned: 0,
      pending: 0,
    }
    row.deliveries += 1
    if (delivery.ackedAt === null) {
      row.unacknowledged += 1
      if (delivery.abandoned) row.abandoned += 1
      else row.pending += 1
    }
    byRole.set(role, row)
  }

  const neverPushed = new Map<string, number>()
  for (const message of state.messages.values()) {
    if (!message.delivered) {
      neverPushed.set(message.senderRole, (neverPushed.get(message.senderRole) ?? 0) + 1)
    }
  }

  const deliveries = state.deliveries.size
  return {
    deliveries,
    pushes,
    pushesPerMessage: {
      mean: deliveries === 0 ? null : pushes / deliveries,
      histogram: [...histogram]
        .map(([count, n]) => ({ pushes: count, deliveries: n }))
        .sort((a, b) => a.pushes - b.pushes),
    },
    ackLatency: distributionOf(state.ackLatencies),
    ackedWithoutPush,
    unacknowledged: [...byRole.values()].sort((a, b) =>
      a.recipientRole.localeCompare(b.recipientRole),
    ),
    neverPushed: [...neverPushed]
      .map(([senderRole, messages]) => ({ senderRole, messages }))
      .sort((a, b) => a.senderRole.localeCompare(b.senderRole)),
  }
}
