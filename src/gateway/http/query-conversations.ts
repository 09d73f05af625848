import { Type, type Static } from '@sinclair/typebox'
import { DomainError, ErrorCode } from '../../domain/shared/errors'
import { Role } from '../../domain/shared/participant'
import type { Principal } from '../../infra/auth/tokens'
import type { ConversationDoc, ConversationPageFilter } from '../../projections/queries'
import { ConversationStatusParam, CursorParam, Id, limitParam, TimeParam } from './openapi-schemas'
import { CursorKind, decodeCursor, encodeCursor } from './query-cursor'

/**
 * Default and largest page of GET /v1/conversations: 500. The list returned the newest 500
 * before it had paging, so a client that sends no `limit` still gets what it always got.
 */
export const CONVERSATION_PAGE = 500

export const ConversationListQuery = Type.Object({
  status: Type.Optional(ConversationStatusParam),
  userId: Type.Optional(Id),
  agentId: Type.Optional(Id),
  openedFrom: Type.Optional(TimeParam),
  openedTo: Type.Optional(TimeParam),
  limit: Type.Optional(limitParam(CONVERSATION_PAGE, CONVERSATION_PAGE)),
  cursor: Type.Optional(CursorParam),
  token: Type.Optional(Type.String()),
})
export type ConversationListQuery = Static<typeof ConversationListQuery>

/** The window [from, to) must hold at least one millisecond. */
export function checkWindow(name: string, from?: number, to?: number): void {
  if (from !== undefined && to !== undefined && to <= from) {
    throw new DomainError(ErrorCode.BadRequest, `${name}To must be greater than ${name}From`)
  }
}

/** Users and agents filter by another person's id only to find nothing: refused instead. */
function scoped(who: Principal, field: 'userId' | 'agentId', asked?: string): string | undefined {
  const own =
    (who.role === Role.User && field === 'userId') ||
    (who.role === Role.Agent && field === 'agentId')
  if (!own) return asked
  if (asked !== undefined && asked !== who.id) {
    throw new DomainError(ErrorCode.Forbidden, `${field} may only name yourself`)
  }
  return who.id
}

/**
 * The read-model filter for a caller's list: users see the conversations they opened, agents
 * those assigned to them (or assigned when closed), admins all; the query narrows it further.
 */
export function conversationFilter(
  who: Principal,
  query: ConversationListQuery,
): ConversationPageFilter {
  checkWindow('opened', query.openedFrom, query.openedTo)
  const after =
    query.cursor === undefined
      ? undefined
      : decodeCursor(CursorKind.Conversations, query.cursor, ['number', 'string'] as const)

  return {
    userId: scoped(who, 'userId', query.userId),
    agentId: scoped(who, 'agentId', query.agentId),
    status: query.status,
    openedFrom: query.openedFrom,
    openedTo: query.openedTo,
    after: after && { openedAt: after[0], conversationId: after[1] },
    limit: query.limit ?? CONVERSATION_PAGE,
  }
}

export const conversationCursor = (c: ConversationDoc): string =>
  encodeCursor(CursorKind.Conversations, [c.openedAt, c.conversationId])
