/**
 * What the analytics fold keeps while it reads the log. Every map is keyed by the ids found in
 * the events; nothing here is read back from a store.
 */
export interface AnalyticsState {
  /** Conversation events folded, every type counted. */
  events: number
  /** Open conversations only: a track is dropped when its conversation closes. */
  conversations: Map<string, ConversationTrack>
  agents: Map<string, AgentTrack>
  /** By UTC day, `YYYY-MM-DD`. */
  days: Map<string, DayCount>
  /** By content format, then by the sender's role. */
  formats: Map<string, Map<string, number>>
  closedByReason: Map<string, number>
  /** Every `MessageSent` by its message id: notices are not messages and are not tracked. */
  messages: Map<string, MessageTrack>
  /** By `<messageId>|<role>:<id>`: one message to one recipient. */
  deliveries: Map<string, DeliveryTrack>
  /** First push to acknowledgement, in ms, one value per acknowledged delivery. */
  ackLatencies: number[]
}

export interface ConversationTrack {
  /** When the oldest user message that no agent message has followed was sent, if any. */
  unansweredUserSince: number | null
  /** The current assignment, until the conversation is requeued or closed. */
  assignment: Assignment | null
}

/** One agent's hold on one conversation, from `ConversationAssigned` on. */
export interface Assignment {
  agentId: string
  assignedAt: number
  /**
   * When the agent owed a first answer: the assignment itself if a user message was waiting,
   * else the first user message sent after it. Null while nothing is owed.
   */
  owedSince: number | null
  answered: boolean
}

export interface AgentTrack {
  assignments: number
  /** Owed-since to the agent's first message, in ms, one per answered assignment. */
  firstResponses: number[]
  /** Assignments that ended (requeue, close) with an answer owed and none given. */
  unanswered: number
  /** Assignment to close, in ms, for each conversation the agent held when it closed. */
  closeTimes: number[]
}

export interface DayCount {
  opened: number
  closed: number
}

export interface MessageTrack {
  senderRole: string
  /** Whether any push or acknowledgement of it has been recorded, to anyone. */
  delivered: boolean
}

export interface DeliveryTrack {
  recipientRole: string
  pushes: number
  firstPushAt: number | null
  ackedAt: number | null
  abandoned: boolean
}

export function initialAnalyticsState(): AnalyticsState {
  return {
    events: 0,
    conversations: new Map(),
    agents: new Map(),
    days: new Map(),
    formats: new Map(),
    closedByReason: new Map(),
    messages: new Map(),
    deliveries: new Map(),
    ackLatencies: [],
  }
}
