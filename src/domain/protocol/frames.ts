import { Type, type Static } from '@sinclair/typebox'
import type { Content } from '../content/schema'
import type { SystemEventName } from '../conversation/events'
import type { ErrorCode } from '../shared/errors'
import type { Participant } from '../shared/participant'

/**
 * The WebSocket protocol: JSON text frames, each with a `type`. Client frames are described as
 * JSON schemas (validated by the gateway); server frames as types. docs/protocol.md is the prose.
 * The content of a `send` is only checked to be an object here: its format is validated on its
 * own so that a bad format answers `invalid_content` rather than `bad_frame`.
 */
export const MAX_CLIENT_MSG_ID_LENGTH = 128
/** Most message ids one `ack` frame may carry. */
export const MAX_ACK_IDS = 1000

const id = Type.String({ minLength: 1, maxLength: 128 })

export const SendFrame = Type.Object({
  type: Type.Literal('send'),
  clientMsgId: Type.String({ minLength: 1, maxLength: MAX_CLIENT_MSG_ID_LENGTH }),
  conversationId: Type.Optional(id),
  content: Type.Object({}),
})
export const AckFrame = Type.Object({
  type: Type.Literal('ack'),
  messageIds: Type.Array(id, { minItems: 1, maxItems: MAX_ACK_IDS }),
})
export const HeartbeatFrame = Type.Object({ type: Type.Literal('heartbeat') })
export const CloseFrame = Type.Object({ type: Type.Literal('close'), conversationId: id })

export const clientFrameSchemas = {
  send: SendFrame,
  ack: AckFrame,
  heartbeat: HeartbeatFrame,
  close: CloseFrame,
} as const

export type ClientFrameType = keyof typeof clientFrameSchemas
export type SendFrame = Omit<Static<typeof SendFrame>, 'content'> & { content: unknown }
export type AckFrame = Static<typeof AckFrame>
export type HeartbeatFrame = Static<typeof HeartbeatFrame>
export type CloseFrame = Static<typeof CloseFrame>
export type ClientFrame = SendFrame | AckFrame | HeartbeatFrame | CloseFrame

/** Who a pushed message is from: a participant, or the system for notices. */
export type Sender = Participant | { role: 'system'; id: 'system' }

export interface SentFrame {
  type: 'sent'
  clientMsgId: string
  messageId: string
  conversationId: string
  seq: number
  sentAt: number
}

export interface MessageFrame {
  type: 'message'
  messageId: string
  conversationId: string
  seq: number
  from: Participant
  content: Content
  sentAt: number
}

/** A notice both sides see; extra fields depend on `event` (agentId, position, reason). */
export interface SystemFrame {
  type: 'system'
  messageId: string
  conversationId: string
  seq: number
  event: SystemEventName
  sentAt: number
  agentId?: string
  /** For `agent_left`: the agent who left. */
  previousAgentId?: string
  position?: number
  reason?: string
}

export interface ErrorFrame {
  type: 'error'
  code: ErrorCode
  message: string
  clientMsgId?: string
}

export interface HeartbeatReply {
  type: 'heartbeat'
}

export type PushFrame = MessageFrame | SystemFrame
export type ServerFrame = SentFrame | MessageFrame | SystemFrame | ErrorFrame | HeartbeatReply
