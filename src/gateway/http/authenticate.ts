import type { FastifyRequest } from 'fastify'
import { AuthError, type Principal, type TokenVerifier } from '../../infra/auth/tokens'

/**
 * The caller's principal from `Authorization: Bearer <token>` or, for browsers opening a
 * WebSocket (which cannot set headers), `?token=`. Throws AuthError when missing or invalid.
 */
export function authenticate(request: FastifyRequest, tokens: TokenVerifier): Principal {
  const header = request.headers.authorization
  const bearer = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined
  const query = (request.query as { token?: unknown } | undefined)?.token
  const token = bearer ?? (typeof query === 'string' && query.length > 0 ? query : undefined)
  if (token === undefined) throw new AuthError('missing token')
  return tokens.verify(token)
}
