import { Type, type TSchema } from '@sinclair/typebox'
import { Content } from '../../domain/content/schema'
import { ParticipantSchema, SystemSenderSchema } from '../../domain/protocol/frame-schemas'
import { ErrorCode } from '../../domain/shared/errors'
import { MAX_CURSOR_LENGTH } from './query-cursor'

/**
 * The HTTP API's shapes as TypeBox schemas: route schemas use them for validation (parameters)
 * and documentation (responses), and the OpenAPI document lists the named ones (`$id`) under
 * `components.schemas`. Response schemas do not shape responses: see src/gateway/openapi.ts.
 */
export const ErrorBody = Type.Object(
  {
    code: Type.String({
      description: `stable; branch on it (${Object.values(ErrorCode).join(', ')})`,
    }),
    message: Type.String({ description: 'for people and logs; may change at any time' }),
  },
  { $id: 'Error' },
)

const epochMs = Type.Integer({ description: 'milliseconds since the Unix epoch' })
const Sender = Type.Union([Type.Ref(ParticipantSchema), Type.Ref(SystemSenderSchema)])

export const LastMessage = Type.Union(
  [
    Type.Object({
      messageId: Type.String(),
      seq: Type.Integer(),
      from: Sender,
      format: Type.Union([Type.String(), Type.Null()], { description: 'null for a notice' }),
      sentAt: epochMs,
    }),
    Type.Null(),
  ],
  { $id: 'LastMessage', description: 'the latest timeline entry, or null' },
)

// Parameters take the plain unions: a schema with an $id may be compiled only once.
export const ConversationStatusParam = Type.Union([
  Type.Literal('queued'),
  Type.Literal('open'),
  Type.Literal('closed'),
])
export const ConversationStatus = Type.Union(ConversationStatusParam.anyOf, {
  $id: 'ConversationStatus',
})

export const ConversationSummary = Type.Object(
  {
    conversationId: Type.String(),
    userId: Type.String(),
    status: Type.Ref(ConversationStatus),
    openedAt: epochMs,
    agentId: Type.Optional(Type.String({ description: 'absent while queued' })),
    closedAt: Type.Optional(epochMs),
    closeReason: Type.Optional(Type.String({ description: 'agent_closed, admin_closed, ...' })),
    lastMessage: Type.Ref(LastMessage),
  },
  { $id: 'Conversation' },
)

export const TimelineEntry = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    messageId: Type.String(),
    from: Sender,
    content: Type.Optional(Type.Ref(Content, { description: 'messages only' })),
    event: Type.Optional(Type.String({ description: 'notices only: queued, assigned, ...' })),
    agentId: Type.Optional(Type.String()),
    previousAgentId: Type.Optional(Type.String()),
    position: Type.Optional(Type.Integer({ minimum: 1 })),
    reason: Type.Optional(Type.String()),
    sentAt: epochMs,
  },
  { $id: 'TimelineEntry', description: 'a message (has content) or a notice (has event)' },
)

export const PresenceStatusParam = Type.Union([
  Type.Literal('online'),
  Type.Literal('offline'),
  Type.Literal('left'),
])
export const PresenceStatus = Type.Union(PresenceStatusParam.anyOf, { $id: 'PresenceStatus' })

export const PresenceView = Type.Object(
  {
    status: Type.Ref(PresenceStatus),
    lastHeartbeatAt: epochMs,
    connections: Type.Integer({ minimum: 0 }),
  },
  { $id: 'Presence' },
)

export const PresenceEntry = Type.Object(
  {
    role: Type.String(),
    id: Type.String(),
    ...PresenceView.properties,
    since: Type.Integer({ description: 'when the current status began (ms)' }),
  },
  { $id: 'PresenceEntry' },
)

export const AgentDesk = Type.Object(
  {
    seats: Type.Integer({ minimum: 1 }),
    openConversations: Type.Integer({ minimum: 0 }),
    status: Type.Ref(PresenceStatus),
  },
  { $id: 'AgentDesk' },
)

export const AgentEntry = Type.Object(
  {
    agentId: Type.String(),
    ...AgentDesk.properties,
    conversations: Type.Array(Type.String(), { description: 'the conversations holding seats' }),
  },
  { $id: 'AgentEntry' },
)

export const PendingAck = Type.Object(
  {
    messageId: Type.String(),
    conversationId: Type.String(),
    seq: Type.Integer({ minimum: 1 }),
    pushes: Type.Integer({ minimum: 0, description: 'pushes so far, the first included' }),
    lastPushAt: Type.Union([epochMs, Type.Null()]),
    nextDueAt: Type.Union([epochMs, Type.Null()], { description: 'when the next push is due' }),
    abandoned: Type.Boolean({ description: 'no push is left; never pushed again' }),
  },
  { $id: 'PendingAck' },
)

export const QueueEntry = Type.Object(
  {
    conversationId: Type.String(),
    userId: Type.String(),
    waitingSince: Type.Integer({
      description: 'when it began waiting (ms): its opening, or when its agent left',
    }),
    position: Type.Integer({ minimum: 1, description: 'place in the line, 1 at the head' }),
    requeued: Type.Boolean({
      description: 'sent back to the head of the queue because its agent left (agent_left)',
    }),
  },
  { $id: 'QueueEntry', description: 'a waiting conversation, without its content' },
)

/** Every named schema, registered with `app.addSchema` so references resolve. */
export const sharedSchemas: readonly TSchema[] = [
  ErrorBody,
  Content,
  ParticipantSchema,
  SystemSenderSchema,
  LastMessage,
  ConversationStatus,
  ConversationSummary,
  TimelineEntry,
  PresenceStatus,
  PresenceView,
  PresenceEntry,
  AgentDesk,
  AgentEntry,
  PendingAck,
  QueueEntry,
]

// Parameters.
export const Id = Type.String({ minLength: 1, maxLength: 128 })
export const RoleParam = Type.Union([
  Type.Literal('user'),
  Type.Literal('agent'),
  Type.Literal('admin'),
])
export const TimeParam = Type.Integer({ minimum: 0, description: 'ms since the Unix epoch' })
export const CursorParam = Type.String({
  minLength: 1,
  maxLength: MAX_CURSOR_LENGTH,
  description: 'opaque: the `nextCursor` of the previous page, with the same filters',
})
export const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'pass as `cursor` for the next page; null on the last page',
})
export const limitParam = (defaultLimit: number, max: number) =>
  Type.Integer({ minimum: 1, maximum: max, description: `default ${defaultLimit}` })

const ERROR_WHEN: Record<number, string> = {
  400: 'a parameter does not fit (bad_request)',
  401: 'missing or invalid token (unauthorized)',
  403: 'not yours to see (forbidden)',
  404: 'no such thing (not_found)',
  503: 'the read models are behind; retry shortly (unavailable)',
}

/** Error responses for a route's OpenAPI entry, each `{code, message}`. */
export function errorResponses(...statuses: (keyof typeof ERROR_WHEN)[]) {
  return Object.fromEntries(
    statuses.map((status) => [status, Type.Ref(ErrorBody, { description: ERROR_WHEN[status] })]),
  )
}
