import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { DomainError, ErrorCode } from '../../domain/shared/errors'
import { participantKey, Role } from '../../domain/shared/participant'
import type { Principal } from '../../infra/auth/tokens'
import { getAgent, listConversations } from '../../projections/queries'
import { PRESENCE, type PresenceDoc } from '../../projections/readmodels/presence'
import type { GatewayServices } from '../services'
import { authenticate } from './authenticate'
import { AgentDesk, errorResponses, PresenceView } from './openapi-schemas'

const RoleParam = Type.Union([Type.Literal('user'), Type.Literal('agent'), Type.Literal('admin')])
const Id = Type.String({ minLength: 1, maxLength: 128 })

/**
 * Presence and agent desks. A person may read their own presence, an agent the presence of a
 * user they serve, an admin anyone's; an agent's desk is the agent's or an admin's to read.
 */
export function presenceRoutes(app: FastifyInstance, services: GatewayServices): void {
  const { readModels } = services

  async function presenceOf(role: string, id: string): Promise<PresenceDoc | undefined> {
    return (await readModels.get(PRESENCE, participantKey({ role: role as Role, id }))) as
      PresenceDoc | undefined
  }

  async function mayReadPresence(who: Principal, role: string, id: string): Promise<boolean> {
    if (who.role === Role.Admin || (who.role === role && who.id === id)) return true
    if (who.role !== Role.Agent || role !== Role.User) return false
    const theirs = await listConversations(readModels, {
      userId: id,
      agentId: who.id,
      status: 'open',
    })
    return theirs.length > 0
  }

  app.get(
    '/v1/presence/:role/:id',
    {
      schema: {
        summary: "One person's presence",
        description:
          'Anyone about themselves, an admin about anyone, an agent about a user with whom they ' +
          'have an open conversation. 404: the person never connected.',
        tags: ['presence'],
        params: Type.Object({ role: RoleParam, id: Id }),
        response: {
          200: Type.Ref(PresenceView, { description: 'the presence' }),
          ...errorResponses(400, 401, 403, 404, 503),
        },
      },
    },
    async (request) => {
      const who = authenticate(request, services.tokens)
      const { role, id } = request.params as { role: string; id: string }
      await services.readModelsCaughtUp()
      if (!(await mayReadPresence(who, role, id))) {
        throw new DomainError(ErrorCode.Forbidden, 'not yours to see')
      }

      const doc = await presenceOf(role, id)
      if (!doc) throw new DomainError(ErrorCode.NotFound, 'never connected')
      return {
        status: doc.status,
        lastHeartbeatAt: doc.lastHeartbeatAt,
        connections: doc.connections,
      }
    },
  )

  const agentSchema = {
    summary: "An agent's desk: seats, seats in use, presence",
    description: 'For the agent themself or an admin. 404: neither a desk nor a presence.',
    tags: ['agents'],
    params: Type.Object({ id: Id }),
    response: {
      200: Type.Ref(AgentDesk, { description: 'the desk' }),
      ...errorResponses(400, 401, 403, 404, 503),
    },
  }
  app.get('/v1/agents/:id', { schema: agentSchema }, async (request) => {
    const who = authenticate(request, services.tokens)
    const { id } = request.params as { id: string }
    if (who.role !== Role.Admin && !(who.role === Role.Agent && who.id === id)) {
      throw new DomainError(ErrorCode.Forbidden, 'not yours to see')
    }

    await services.readModelsCaughtUp()
    const [desk, presence] = await Promise.all([
      getAgent(readModels, id),
      presenceOf(Role.Agent, id),
    ])
    if (!desk && !presence) throw new DomainError(ErrorCode.NotFound, 'no such agent')
    return {
      seats: desk?.seats ?? services.config.agentSeats,
      openConversations: desk?.openConversations ?? 0,
      status: presence?.status ?? 'offline',
    }
  })
}
