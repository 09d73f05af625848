import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { PresenceStatus } from '../../domain/presence/events'
import { DomainError, ErrorCode } from '../../domain/shared/errors'
import { Role } from '../../domain/shared/participant'
import type { Principal } from '../../infra/auth/tokens'
import {
  DEFAULT_PAGE_LIMIT,
  MAX_QUERY_LIMIT,
  pageAgents,
  pagePendingFor,
  pagePresence,
  type AgentEntry,
} from '../../projections/queries'
import type { GatewayServices } from '../services'
import { authenticate } from './authenticate'
import {
  AgentEntry as AgentEntrySchema,
  CursorParam,
  errorResponses,
  Id,
  limitParam,
  NextCursor,
  PendingAck,
  PresenceEntry,
  PresenceStatusParam,
  RoleParam,
} from './openapi-schemas'
import { CursorKind, decodeCursor, encodeCursor } from './query-cursor'

const paging = {
  limit: Type.Optional(limitParam(DEFAULT_PAGE_LIMIT, MAX_QUERY_LIMIT)),
  cursor: Type.Optional(CursorParam),
  token: Type.Optional(Type.String()),
}
type Paging = { limit?: number; cursor?: string }

const adminOnly = (who: Principal): void => {
  if (who.role !== Role.Admin) throw new DomainError(ErrorCode.Forbidden, 'admins only')
}

/**
 * Read-model lists next to the conversation routes: a recipient's unacknowledged pushes (the
 * recipient or an admin), and every person's presence and every agent's desk (admins).
 */
export function readModelRoutes(app: FastifyInstance, services: GatewayServices): void {
  const { readModels } = services

  app.get(
    '/v1/pending/:role/:id',
    {
      schema: {
        summary: 'What one recipient has not acknowledged, by conversation and seq, in pages',
        description:
          'For the recipient themself or an admin. Rows stay until acknowledged, including ' +
          'those whose pushes are used up (`abandoned`). An admin is never a recipient.',
        tags: ['pending'],
        params: Type.Object({ role: RoleParam, id: Id }),
        querystring: Type.Object(paging),
        response: {
          200: Type.Object(
            { pending: Type.Array(Type.Ref(PendingAck)), nextCursor: NextCursor },
            { description: 'a page of unacknowledged rows' },
          ),
          ...errorResponses(400, 401, 403, 503),
        },
      },
    },
    async (request) => {
      const who = authenticate(request, services.tokens)
      const { role, id } = request.params as { role: Role; id: string }
      if (who.role !== Role.Admin && !(who.role === role && who.id === id)) {
        throw new DomainError(ErrorCode.Forbidden, 'not yours to see')
      }
      const { limit, cursor } = request.query as Paging
      const after =
        cursor === undefined
          ? undefined
          : decodeCursor(CursorKind.Pending, cursor, ['string', 'number'] as const)

      await services.readModelsCaughtUp()
      const page = await pagePendingFor(
        readModels,
        { role, id },
        { limit, after: after && { conversationId: after[0], seq: after[1] } },
      )
      const last = page.items[page.items.length - 1]
      return {
        pending: page.items.map(({ recipient: _r, recipientKey: _k, ...row }) => row),
        nextCursor: page.more
          ? encodeCursor(CursorKind.Pending, [last.conversationId, last.seq])
          : null,
      }
    },
  )

  app.get(
    '/v1/presence',
    {
      schema: {
        summary: "Everyone's presence, by role and id, in pages (admins)",
        tags: ['presence'],
        querystring: Type.Object({
          role: Type.Optional(RoleParam),
          status: Type.Optional(PresenceStatusParam),
          ...paging,
        }),
        response: {
          200: Type.Object(
            { presence: Type.Array(Type.Ref(PresenceEntry)), nextCursor: NextCursor },
            { description: 'a page of people' },
          ),
          ...errorResponses(400, 401, 403, 503),
        },
      },
    },
    async (request) => {
      adminOnly(authenticate(request, services.tokens))
      const { role, status, limit, cursor } = request.query as Paging & {
        role?: Role
        status?: PresenceStatus
      }
      const after =
        cursor === undefined
          ? undefined
          : decodeCursor(CursorKind.Presence, cursor, ['string', 'string'] as const)

      await services.readModelsCaughtUp()
      const page = await pagePresence(readModels, {
        role,
        status,
        limit,
        after: after && { role: after[0] as Role, id: after[1] },
      })
      const last = page.items[page.items.length - 1]
      return {
        presence: page.items,
        nextCursor: page.more ? encodeCursor(CursorKind.Presence, [last.role, last.id]) : null,
      }
    },
  )

  app.get(
    '/v1/agents',
    {
      schema: {
        summary: 'Every agent who ever connected, with desk and presence, by id, in pages (admins)',
        description: '`seats` is the recorded seat count, or the server default if none was set.',
        tags: ['agents'],
        querystring: Type.Object({ status: Type.Optional(PresenceStatusParam), ...paging }),
        response: {
          200: Type.Object(
            { agents: Type.Array(Type.Ref(AgentEntrySchema)), nextCursor: NextCursor },
            { description: 'a page of agents' },
          ),
          ...errorResponses(400, 401, 403, 503),
        },
      },
    },
    async (request) => {
      adminOnly(authenticate(request, services.tokens))
      const { status, limit, cursor } = request.query as Paging & { status?: PresenceStatus }
      const after =
        cursor === undefined
          ? undefined
          : decodeCursor(CursorKind.Agents, cursor, ['string'] as const)

      await services.readModelsCaughtUp()
      const page = await pageAgents(readModels, { status, limit, afterAgentId: after?.[0] })
      const agents = page.items.map((entry) => agentEntry(entry, services.config.agentSeats))
      const last = agents[agents.length - 1]
      return {
        agents,
        nextCursor: page.more ? encodeCursor(CursorKind.Agents, [last.agentId]) : null,
      }
    },
  )
}

/** The same figures as GET /v1/agents/:id, plus the id and the conversations holding seats. */
function agentEntry({ presence, desk }: AgentEntry, defaultSeats: number) {
  return {
    agentId: presence.id,
    seats: desk?.seats ?? defaultSeats,
    openConversations: desk?.openConversations ?? 0,
    status: presence.status,
    conversations: desk?.conversations ?? [],
  }
}
