import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { DomainError, ErrorCode } from '../../domain/shared/errors'
import { Role } from '../../domain/shared/participant'
import { DEFAULT_PAGE_LIMIT, MAX_QUERY_LIMIT } from '../../projections/queries'
import { pageQueue } from '../../projections/queue-query'
import type { GatewayServices } from '../services'
import { authenticate } from './authenticate'
import { CursorParam, errorResponses, limitParam, NextCursor, QueueEntry } from './openapi-schemas'
import { CursorKind, decodeCursor, encodeCursor } from './query-cursor'

const QueueQuery = Type.Object({
  limit: Type.Optional(limitParam(DEFAULT_PAGE_LIMIT, MAX_QUERY_LIMIT)),
  cursor: Type.Optional(CursorParam),
  token: Type.Optional(Type.String()),
})

/**
 * The waiting line for agents and admins: which conversations wait, for whom and since when, in
 * the dispatcher's order. Agents may not read a waiting conversation itself (protocol.md,
 * "Visibility"), so an entry carries no content and no timeline; users get 403.
 */
export function queueRoutes(app: FastifyInstance, services: GatewayServices): void {
  app.get(
    '/v1/queue',
    {
      schema: {
        summary: 'The conversations waiting for an agent, in the order they will be served',
        description:
          'For agents and admins. Conversations whose agent left come first (back at the head ' +
          'of the line), then the rest by opening time, ties by conversationId. `position` of ' +
          'a later page goes on from the page before it; read from the first page again for ' +
          'current places.',
        tags: ['queue'],
        querystring: QueueQuery,
        response: {
          200: Type.Object(
            { queue: Type.Array(Type.Ref(QueueEntry)), nextCursor: NextCursor },
            { description: 'a page of the queue, head first' },
          ),
          ...errorResponses(400, 401, 403, 503),
        },
      },
    },
    async (request) => {
      const who = authenticate(request, services.tokens)
      if (who.role === Role.User) {
        throw new DomainError(ErrorCode.Forbidden, 'agents and admins only')
      }
      const { limit, cursor } = request.query as { limit?: number; cursor?: string }
      const after = cursor === undefined ? undefined : queueCursor(cursor)

      await services.readModelsCaughtUp()
      const page = await pageQueue(services.readModels, { limit, after })
      const { next } = page
      return {
        queue: page.items,
        nextCursor:
          next &&
          encodeCursor(CursorKind.Queue, [next.queueRank, next.conversationId, next.position]),
      }
    },
  )
}

function queueCursor(cursor: string) {
  const [queueRank, conversationId, position] = decodeCursor(CursorKind.Queue, cursor, [
    'number',
    'string',
    'number',
  ] as const)
  if (position < 1) throw new DomainError(ErrorCode.BadRequest, 'cursor is not valid for this list')
  return { queueRank, conversationId, position }
}
