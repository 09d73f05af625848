import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DomainError, ErrorCode } from '../../domain/shared/errors'
import { Role } from '../../domain/shared/participant'
import type { Principal } from '../../infra/auth/tokens'
import {
  getConversation,
  listMessages,
  pageConversations,
  type ConversationDoc,
} from '../../projections/queries'
import type { GatewayServices } from '../services'
import { authenticate } from './authenticate'
import {
  ConversationSummary,
  errorResponses,
  Id,
  limitParam,
  NextCursor,
  TimeParam,
  TimelineEntry,
} from './openapi-schemas'
import {
  checkWindow,
  ConversationListQuery,
  conversationCursor,
  conversationFilter,
} from './query-conversations'

/** Most messages one history page returns. */
export const MAX_PAGE = 500
/** Messages per history page when `limit` is not given. */
export const DEFAULT_PAGE = 100

const IdParams = Type.Object({ id: Id })
const tags = ['conversations']

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
        summary: "The caller's visible conversations, newest first, in pages",
        description:
          'Users see the conversations they opened, agents those assigned to them (or assigned ' +
          'when closed), admins all. `userId` and `agentId` narrow the list; a user or agent ' +
          'naming someone else there gets 403. Ties in `openedAt` come by conversationId.',
        tags,
        querystring: ConversationListQuery,
        response: {
          200: Type.Object(
            { conversations: Type.Array(Type.Ref(ConversationSummary)), nextCursor: NextCursor },
            { description: 'a page of conversations' },
          ),
          ...errorResponses(400, 401, 403, 503),
        },
      },
    },
    async (request) => {
      const who = caller(request)
      const filter = conversationFilter(who, request.query as ConversationListQuery)
      await services.readModelsCaughtUp()
      const page = await pageConversations(readModels, filter)
      const last = page.items[page.items.length - 1]
      return {
        conversations: page.items.map(publicConversation),
        nextCursor: page.more ? conversationCursor(last) : null,
      }
    },
  )

  app.get(
    '/v1/conversations/:id',
    {
      schema: {
        summary: 'One conversation',
        tags,
        params: IdParams,
        response: {
          200: Type.Ref(ConversationSummary, { description: 'the conversation' }),
          ...errorResponses(400, 401, 403, 404, 503),
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      return publicConversation(await visibleConversation(request, id))
    },
  )

  app.get(
    '/v1/conversations/:id/messages',
    {
      schema: {
        summary: "A conversation's timeline in seq order, optionally within a time window",
        description:
          'Messages and notices with a seq above `afterSeq` and, if given, sent in ' +
          '[sentFrom, sentTo). Page by setting `afterSeq` to the last seq received until a page ' +
          'holds fewer than `limit` entries.',
        tags,
        params: IdParams,
        querystring: Type.Object({
          afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
          limit: Type.Optional(limitParam(DEFAULT_PAGE, MAX_PAGE)),
          sentFrom: Type.Optional(TimeParam),
          sentTo: Type.Optional(TimeParam),
          token: Type.Optional(Type.String()),
        }),
        response: {
          200: Type.Object(
            { messages: Type.Array(Type.Ref(TimelineEntry)) },
            { description: 'a page of the timeline' },
          ),
          ...errorResponses(400, 401, 403, 404, 503),
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const {
        afterSeq = 0,
        limit = DEFAULT_PAGE,
        sentFrom,
        sentTo,
      } = request.query as { afterSeq?: number; limit?: number; sentFrom?: number; sentTo?: number }
      checkWindow('sent', sentFrom, sentTo)
      await visibleConversation(request, id)
      const messages = await listMessages(readModels, id, { afterSeq, limit, sentFrom, sentTo })
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
