import { TokenError, createSigner, createVerifier } from 'fast-jwt'
import { DomainError, ErrorCode } from '../../domain/shared/errors'
import { Role, type Participant } from '../../domain/shared/participant'
import { MAX_AGENT_SEATS } from '../config/config'

/** Who a verified token speaks for; `seats` is an agent's own capacity, when the token sets it. */
export interface Principal extends Participant {
  seats?: number
}

/** Default lifetime of a signed token: 24 hours. */
export const DEFAULT_TOKEN_TTL_SEC = 24 * 60 * 60
/** Longest accepted participant id, so ids stay usable inside stream names and keys. */
export const MAX_PRINCIPAL_ID_LENGTH = 128

/** A token was refused. The reason is short and never contains the token itself. */
export class AuthError extends DomainError {
  constructor(reason: string) {
    super(ErrorCode.Unauthorized, reason, { reason })
  }
}

export interface TokenVerifier {
  /** The principal of a valid HS256 token that has an unexpired `exp`; throws AuthError. */
  verify(token: string): Principal
}

export interface SignOptions extends Principal {
  /** Lifetime in seconds; default `DEFAULT_TOKEN_TTL_SEC`. */
  expiresInSec?: number
}

export interface TokenSigner {
  sign(options: SignOptions): string
}

const ALGORITHM = 'HS256'
const ROLES: readonly string[] = Object.values(Role)
// Any printable characters without spaces: ids end up in stream names, keys and log fields.
const ID_PATTERN = new RegExp(`^[^\\s\\p{Cc}]{1,${MAX_PRINCIPAL_ID_LENGTH}}$`, 'u')

/** Verifies tokens signed with `secret` by HS256 only; other algorithms, `none` included, fail. */
export function createTokenVerifier(secret: string): TokenVerifier {
  assertSecret(secret)
  const verifyJwt = createVerifier({
    key: secret,
    algorithms: [ALGORITHM],
    requiredClaims: ['sub', 'exp'],
  })

  return {
    verify(token) {
      let claims: unknown
      try {
        claims = verifyJwt(token)
      } catch (err) {
        throw new AuthError(reasonOf(err))
      }

      const principal = principalOf(claims)
      if (typeof principal === 'string') throw new AuthError(principal)
      return principal
    },
  }
}

/** Signs HS256 tokens that `createTokenVerifier(secret)` accepts. Throws RangeError on bad input. */
export function createTokenSigner(secret: string): TokenSigner {
  assertSecret(secret)
  const signJwt = createSigner({ key: secret, algorithm: ALGORITHM })

  return {
    sign({ role, id, seats, expiresInSec = DEFAULT_TOKEN_TTL_SEC }) {
      const problem = principalProblem(role, id, seats)
      if (problem) throw new RangeError(problem)
      if (!Number.isInteger(expiresInSec) || expiresInSec < 1) {
        throw new RangeError('expiresInSec must be a positive integer')
      }

      const exp = Math.floor(Date.now() / 1000) + expiresInSec
      return signJwt(seats === undefined ? { sub: id, role, exp } : { sub: id, role, seats, exp })
    },
  }
}

function assertSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new RangeError('the auth secret must be a non-empty string')
  }
}

/** fast-jwt's messages can quote claim values, so only its code is turned into a reason. */
function reasonOf(err: unknown): string {
  switch (err instanceof TokenError ? err.code : undefined) {
    case TokenError.codes.expired:
      return 'token expired'
    case TokenError.codes.inactive:
      return 'token not yet valid'
    case TokenError.codes.invalidSignature:
      return 'bad token signature'
    case TokenError.codes.invalidAlgorithm:
    case TokenError.codes.missingSignature:
      return 'token algorithm not accepted'
    case TokenError.codes.missingRequiredClaim:
      return 'token lacks sub or exp'
    default:
      return 'malformed token'
  }
}

function principalOf(claims: unknown): Principal | string {
  if (typeof claims !== 'object' || claims === null) return 'malformed token'

  const { sub, role, seats } = claims as Record<string, unknown>
  const problem = principalProblem(role, sub, seats)
  if (problem) return problem

  const principal: Principal = { role: role as Role, id: sub as string }
  if (seats !== undefined) principal.seats = seats as number
  return principal
}

/** Why claims do not describe a principal, or undefined when they do. */
function principalProblem(role: unknown, id: unknown, seats: unknown): string | undefined {
  if (typeof role !== 'string' || !ROLES.includes(role)) return 'token role not recognised'
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    return `token sub must be 1 to ${MAX_PRINCIPAL_ID_LENGTH} non-blank characters`
  }
  if (seats === undefined) return undefined
  if (role !== Role.Agent) return 'token seats are for agents only'

  const valid = Number.isInteger(seats) && (seats as number) >= 1
  if (!valid || (seats as number) > MAX_AGENT_SEATS) {
    return `token seats must be an integer from 1 to ${MAX_AGENT_SEATS}`
  }
  return undefined
}
