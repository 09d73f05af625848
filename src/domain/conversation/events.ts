import type { Content } from '../content/schema'
import type { Participant } from '../shared/participant'

/** Why a conversation ended. Wire values; new reasons may be added, none is ever renamed. */
export const CloseReason = {
  AgentClosed: 'agent_closed',
  AdminClosed: 'admin_closed',
  UserLeft: 'user_left',
} as const
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason]

/** The system notices both sides see; each takes a seq in the conversation like a message. */
export const SystemEventName = {
  Queued: 'queued',
  Assigned: 'assigned',
  Closed: 'closed',
  /** The agent left; the conversation went back to the head of the queue. */
  AgentLeft: 'agent_left',
} as const
export type SystemEventName = (typeof SystemEventName)[keyof typeof SystemEventName]

export interface ConversationOpened {
  type: 'ConversationOpened'
  data: { conversationId: string; userId: string; openedAt: number }
}

/** The conversation waits for a free seat. `position` is 1-based, as counted when queued. */
export interface ConversationQueued {
  type: 'ConversationQueued'
  data: { conversationId: string; position: number; messageId: string; seq: number; at: number }
}

export interface ConversationAssigned {
  type: 'ConversationAssigned'
  data: { conversationId: string; agentId: string; messageId: string; seq: number; at: number }
}

/** The assigned agent left: the conversation waits again, ahead of every other waiting one. */
export interface ConversationRequeued {
  type: 'ConversationRequeued'
  data: {
    conversationId: string
    previousAgentId: string
    messageId: string
    seq: number
    at: number
  }
}

export interface MessageSent {
  type: 'MessageSent'
  data: {
    conversationId: string
    messageId: string
    seq: number
    clientMsgId: string
    from: Participant
    content: Content
    sentAt: number
  }
}

/** One push of a message (or system notice) to one recipient; `attempt` counts from 1. */
export interface MessagePushed {
  type: 'MessagePushed'
  data: {
    conversationId: string
    messageId: string
    seq: number
    recipient: Participant
    attempt: number
    pushedAt: number
    nextDueAt: number
  }
}

export interface MessageAcknowledged {
  type: 'MessageAcknowledged'
  data: { conversationId: string; messageId: string; recipient: Participant; at: number }
}

/** The server stopped re-pushing after the last allowed push went unacknowledged. */
export interface PushAbandoned {
  type: 'PushAbandoned'
  data: {
    conversationId: string
    messageId: string
    recipient: Participant
    attempts: number
    at: number
  }
}

export interface ConversationClosed {
  type: 'ConversationClosed'
  data: {
    conversationId: string
    reason: CloseReason
    closedBy: Participant | null
    agentId: string | null
    messageId: string
    seq: number
    at: number
  }
}

export type ConversationEvent =
  | ConversationOpened
  | ConversationQueued
  | ConversationAssigned
  | ConversationRequeued
  | MessageSent
  | MessagePushed
  | MessageAcknowledged
  | PushAbandoned
  | ConversationClosed

export type ConversationEventType = ConversationEvent['type']

/** The events that take a seq and reach both sides as a `system` frame. */
export type SystemNoticeEvent =
  ConversationQueued | ConversationAssigned | ConversationRequeued | ConversationClosed

export function isSystemNotice(event: { type: string }): event is SystemNoticeEvent {
  return (
    event.type === 'ConversationQueued' ||
    event.type === 'ConversationAssigned' ||
    event.type === 'ConversationRequeued' ||
    event.type === 'ConversationClosed'
  )
}

/** The system notice name for a notice event. */
export function noticeName(event: SystemNoticeEvent): SystemEventName {
  switch (event.type) {
    case 'ConversationQueued':
      return SystemEventName.Queued
    case 'ConversationAssigned':
      return SystemEventName.Assigned
    case 'ConversationRequeued':
      return SystemEventName.AgentLeft
    case 'ConversationClosed':
      return SystemEventName.Closed
  }
}
