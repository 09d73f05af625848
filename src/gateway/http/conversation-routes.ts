import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DomainError, ErrorCode } from '../../domain/shared/errors'
import { Role } from '../../domain/shared/participant'
import type { Principal } from '../../infra/auth/tokens'
import {
  getConversation,
  listConversations,
  listMessages,
  type ConversationDoc,
} from '../../projections/queries'
import type { GatewayServices } from '../services'
import { authenticate } from './authenticate'

/** Most messages one history page returns. */
export const MAX_PAGE = 500
/** Messages per history page when `limit` is not given. */
export const DEFAULT_PAGE = 100

const Status = Type.Union([Type.Literal('queued'), Type.Literal('open'), Type.Literal('closed')])
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) })

/** Users see their own conversations, agents those assigned to them, admins all. */
function canSee(who: Principal, c: ConversationDoc): boolean {
  if (who.role === Role.Admin) return true
  if (who.role === Role.User) return c.userId === who.id
  return c.agentId === who.id
}

export function conversationRoutes(app: FastifyInstance, services: GatewayServices): void {
  const { readModels } = services
  const caller = (request: FastifyRequest): Principal => authenticate(request, services.tokens)

  async function visibleConversation(
    request: FastifyRequest,
    id: string,
  ): Promise<ConversationDoc> {
    const who = caller(request)
    await services.readModelsCaughtUp()
    const conversation = await getConversation(readModels, id)
    if (!conversation) throw new DomainError(ErrorCode.NotFound, 'no such conversation')
    if (!canSee(who, conversation)) {
      throw new DomainError(ErrorCode.Forbidden, 'not your conversation')
    }
    return conversation
  }

  app.get(
    '/v1/conversations',
    {
      schema: {
        querystring: Type.Object({
          status: Type.Optional(Status),
          token: Type.Optional(Type.String()),
        }),
      },
    },
    async (request) => {
      const who = caller(request)
      const { status } = request.query as { status?: ConversationDoc['status'] }
      await services.readModelsCaughtUp()
      const filter =
        who.role === Role.User
          ? { userId: who.id }
          : who.role === Role.Agent
            ? { agentId: who.id }
            : {}
      const conversations = await listConversations(readModels, {
        ...filter,
        status,
        limit: MAX_PAGE,
      })
      return { conversations: conversations.map(publicConversation) }
    },
  )

  app.get('/v1/conversations/:id', { schema: { params: IdParams } }, async (request) => {
    const { id } = request.params as { id: string }
    return publicConversation(await visibleConversation(request, id))
  })

  app.get(
    '/v1/conversations/:id/messages',
    {
      schema: {
        params: IdParams,
        querystring: Type.Object({
          afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE })),
          token: Type.Optional(Type.String()),
        }),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const { afterSeq = 0, limit = DEFAULT_PAGE } = request.query as {
        afterSeq?: number
        limit?: number
      }
      await visibleConversation(request, id)
      const messages = await listMessages(readModels, id, { afterSeq, limit })
      return { messages: messages.map(({ conversationId: _c, kind: _k, ...rest }) => rest) }
    },
  )
}

/** The documented shape of a conversation: read-model bookkeeping fields are left out. */
function publicConversation(c: ConversationDoc) {
  const { conversationId, userId, agentId, status, openedAt, closedAt, closeReason } = c
  return {
    conversationId,
    userId,
    status,
    openedAt,
    ...(agentId !== null && { agentId }),
    ...(closedAt !== null && { closedAt }),
    ...(closeReason !== null && { closeReason }),
    lastMessage: c.lastMessage,
  }
}
