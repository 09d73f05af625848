import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Content } from '../content/schema'
import { SystemEventName } from '../conversation/events'
import { ErrorCode } from '../shared/errors'
import { Role } from '../shared/participant'
import {
  AckFrame,
  CloseFrame,
  HeartbeatFrame,
  SendFrame,
  type ErrorFrame,
  type HeartbeatReply,
  type MessageFrame,
  type SentFrame,
  type SystemFrame,
} from './frames'

/**
 * JSON schemas of the frames the server sends, for docs/schemas/ and client authors. frames.ts
 * keeps the types the server builds frames with; the checks at the bottom of this file fail the
 * build if the two drift apart. Server frames are open (no `additionalProperties: false`) and
 * `event` and `code` are plain strings, because new fields, notice names and error codes may
 * appear (docs/protocol.md, compatibility rules).
 */
const id = Type.String({ minLength: 1, maxLength: 128 })
const serverId = Type.String({ description: 'a decimal snowflake id: keep it as a string' })
const seq = Type.Integer({ minimum: 1, description: "place in the conversation's timeline" })
const epochMs = Type.Integer({ description: 'milliseconds since the Unix epoch (server clock)' })

const listed = (values: object): string => Object.values(values).join(', ')

export const ParticipantSchema = Type.Object(
  {
    role: Type.Union([Type.Literal(Role.User), Type.Literal(Role.Agent), Type.Literal(Role.Admin)]),
    id,
  },
  { $id: 'Participant' },
)
export const SystemSenderSchema = Type.Object(
  { role: Type.Literal('system'), id: Type.Literal('system') },
  { $id: 'SystemSender', description: 'the sender of system notices' },
)

export const SentFrameSchema = Type.Object(
  {
    type: Type.Literal('sent'),
    clientMsgId: Type.String({ minLength: 1, maxLength: 128 }),
    messageId: serverId,
    conversationId: serverId,
    seq,
    sentAt: epochMs,
  },
  { $id: 'SentFrame', description: 'the message is stored durably' },
)

export const MessageFrameSchema = Type.Object(
  {
    type: Type.Literal('message'),
    messageId: serverId,
    conversationId: serverId,
    seq,
    from: ParticipantSchema,
    content: Content,
    sentAt: epochMs,
  },
  { $id: 'MessageFrame', description: 'a message from the other side; acknowledge it' },
)

export const SystemFrameSchema = Type.Object(
  {
    type: Type.Literal('system'),
    messageId: serverId,
    conversationId: serverId,
    seq,
    event: Type.String({ description: `known: ${listed(SystemEventName)}; others may appear` }),
    sentAt: epochMs,
    agentId: Type.Optional(Type.String({ description: 'assigned: the agent' })),
    previousAgentId: Type.Optional(Type.String({ description: 'agent_left: who left' })),
    position: Type.Optional(Type.Integer({ minimum: 1, description: 'queued: 1-based place' })),
    reason: Type.Optional(Type.String({ description: 'closed: why' })),
  },
  { $id: 'SystemFrame', description: 'a notice about the conversation; acknowledge it' },
)

export const ErrorFrameSchema = Type.Object(
  {
    type: Type.Literal('error'),
    code: Type.String({ description: `known: ${listed(ErrorCode)}; others may appear` }),
    message: Type.String({ description: 'for people and logs; may change at any time' }),
    clientMsgId: Type.Optional(Type.String()),
  },
  { $id: 'ErrorFrame', description: 'a frame was refused; the socket stays open' },
)

export const HeartbeatReplySchema = Type.Object(
  { type: Type.Literal('heartbeat') },
  { $id: 'HeartbeatReply', description: 'the answer to a heartbeat, once it is recorded' },
)

/** Every frame the server sends, by `type`. */
export const serverFrameSchemas = {
  sent: SentFrameSchema,
  message: MessageFrameSchema,
  system: SystemFrameSchema,
  error: ErrorFrameSchema,
  heartbeat: HeartbeatReplySchema,
} as const

/** A `send` frame as a client should write it: content in one of the content formats. */
export const SendFrameSchema = Type.Object(
  { ...SendFrame.properties, content: Content },
  { $id: 'SendFrame', description: 'send a message; answered by `sent` or `error`' },
)

/** Every frame a client may send, by `type` (the gateway checks `content` on its own). */
export const clientFrameDocSchemas: Record<string, TSchema> = {
  send: SendFrameSchema,
  ack: Type.Object(AckFrame.properties, { $id: 'AckFrame' }),
  heartbeat: Type.Object(HeartbeatFrame.properties, { $id: 'HeartbeatFrame' }),
  close: Type.Object(CloseFrame.properties, { $id: 'CloseFrame' }),
}

// Drift checks: every frame the server builds fits its schema, and both name the same fields.
type Fits<Built, Schema extends TSchema> =
  Built extends Static<Schema>
    ? keyof Built extends keyof Static<Schema>
      ? keyof Static<Schema> extends keyof Built
        ? true
        : never
      : never
    : never
const drift: [
  Fits<SentFrame, typeof SentFrameSchema>,
  Fits<MessageFrame, typeof MessageFrameSchema>,
  Fits<SystemFrame, typeof SystemFrameSchema>,
  Fits<ErrorFrame, typeof ErrorFrameSchema>,
  Fits<HeartbeatReply, typeof HeartbeatReplySchema>,
] = [true, true, true, true, true]
void drift
