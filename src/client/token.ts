import type { Participant } from './types'

/**
 * The participant a JWT names, read from its payload without checking the signature (the
 * server does that). Used for the default storage key and to tell own items apart. Undefined
 * when the token is not a readable JWT.
 */
export function tokenParticipant(token: string): Participant | undefined {
  const payload = token.split('.')[1]
  if (!payload) return undefined
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/')
    const json = decodeURIComponent(
      Array.from(atob(base64), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
    )
    const claims = JSON.parse(json) as { sub?: unknown; role?: unknown }
    if (typeof claims.sub !== 'string') return undefined
    if (claims.role !== 'user' && claims.role !== 'agent' && claims.role !== 'admin') {
      return undefined
    }
    return { role: claims.role, id: claims.sub }
  } catch {
    return undefined
  }
}
