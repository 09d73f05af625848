/** What the console reads from a token: it shows who is signed in and checks the page fits. */
export interface TokenClaims {
  role: string
  sub: string
  seats?: number
  exp?: number
}

/**
 * The claims of a JWT, decoded without checking the signature (the server does that): null for
 * anything that is not three dot-separated parts with a JSON object carrying `role` and `sub`.
 */
export function readClaims(token: string): TokenClaims | null {
  const parts = token.trim().split('.')
  if (parts.length !== 3) return null
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/')
    const json = decodeURIComponent(
      Array.from(atob(base64), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
    )
    const claims = JSON.parse(json) as Partial<TokenClaims>
    if (typeof claims.role !== 'string' || typeof claims.sub !== 'string') return null
    return claims as TokenClaims
  } catch {
    return null
  }
}

/** The `token` query parameter of the page URL, or null. */
export function tokenFromUrl(search: string = location.search): string | null {
  const token = new URLSearchParams(search).get('token')
  return token && token.trim() ? token.trim() : null
}

/** "a user", "an agent", "an admin": the article before a role ("user" starts with a "you"). */
export const withArticle = (role: string): string => `${/^[aeio]/i.test(role) ? 'an' : 'a'} ${role}`

/** A token's problem for a page meant for `role`, or null when it fits. */
export function tokenProblem(
  token: string,
  role: 'user' | 'agent',
  now = Date.now(),
): string | null {
  const claims = readClaims(token)
  if (!claims) return 'This is not a Parley token (a JWT made with npx parley token).'
  if (claims.role !== role)
    return `This page needs ${withArticle(role)} token; this one has the role ${claims.role}.`
  if (claims.exp !== undefined && claims.exp * 1000 <= now) return 'This token has expired.'
  return null
}
