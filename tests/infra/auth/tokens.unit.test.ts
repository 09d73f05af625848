import { createSigner } from 'fast-jwt'
import t from 'tap'
import { ParleyError } from '../../../src/domain/shared/errors'
import {
  AuthError,
  DEFAULT_TOKEN_TTL_SEC,
  createTokenSigner,
  createTokenVerifier,
  type Principal,
} from '../../../src/infra/auth/tokens'

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256'
const OTHER_SECRET = 'another-secret-that-is-also-long-enough-!!'
const inAnHour = (): number => Math.floor(Date.now() / 1000) + 3600

/** Signs arbitrary claims, as an attacker or a buggy issuer could. */
const rawToken = (claims: Record<string, unknown>, secret = SECRET): string =>
  createSigner({ key: secret, algorithm: 'HS256' })(claims)

function authErrorOf(verify: () => unknown): AuthError {
  try {
    verify()
  } catch (err) {
    if (err instanceof AuthError) return err
    throw err
  }
  throw new Error('the token was accepted')
}

const verifier = createTokenVerifier(SECRET)
const signer = createTokenSigner(SECRET)

t.test('verifies the principal of a token it signed', async (t) => {
  const principals: Principal[] = [
    { role: 'user', id: 'u-1' },
    { role: 'agent', id: 'alice@example.com', seats: 3 },
    { role: 'agent', id: 'bob' },
    { role: 'admin', id: 'root' },
  ]

  for (const principal of principals) {
    t.strictSame(verifier.verify(signer.sign(principal)), principal)
  }
})

t.test('signs tokens that expire after 24 hours by default', async (t) => {
  const token = signer.sign({ role: 'user', id: 'u-2' })
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
  const now = Math.floor(Date.now() / 1000)

  t.equal(DEFAULT_TOKEN_TTL_SEC, 86_400)
  t.ok(Math.abs(claims.exp - (now + DEFAULT_TOKEN_TTL_SEC)) <= 2)
  t.equal(claims.sub, 'u-2')
  t.equal(claims.role, 'user')
  t.notOk('seats' in claims)
})

t.test('refuses a token signed with another secret', async (t) => {
  const token = createTokenSigner(OTHER_SECRET).sign({ role: 'admin', id: 'mallory' })
  const err = authErrorOf(() => verifier.verify(token))

  t.ok(err instanceof ParleyError)
  t.equal(err.code, 'unauthorized')
  t.equal(err.message, 'bad token signature')
})

t.test('refuses a token whose payload was altered after signing', async (t) => {
  const [header, , signature] = signer.sign({ role: 'user', id: 'u-3' }).split('.')
  const payload = Buffer.from(JSON.stringify({ sub: 'u-3', role: 'admin', exp: inAnHour() }))
  const forged = `${header}.${payload.toString('base64url')}.${signature}`

  t.equal(authErrorOf(() => verifier.verify(forged)).message, 'bad token signature')
})

t.test('refuses an expired token', async (t) => {
  const token = rawToken({ sub: 'u-4', role: 'user', exp: Math.floor(Date.now() / 1000) - 10 })

  t.equal(authErrorOf(() => verifier.verify(token)).message, 'token expired')
})

t.test('refuses a token without an expiry', async (t) => {
  const token = rawToken({ sub: 'u-5', role: 'user' })

  t.equal(authErrorOf(() => verifier.verify(token)).message, 'token lacks sub or exp')
})

t.test('refuses the none algorithm and algorithms other than HS256', async (t) => {
  const encode = (value: unknown): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url')
  const claims = encode({ sub: 'u-6', role: 'admin', exp: inAnHour() })
  const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${claims}.`
  const hs512 = createSigner({ key: SECRET, algorithm: 'HS512' })({
    sub: 'u-6',
    role: 'admin',
    exp: inAnHour(),
  })

  t.equal(authErrorOf(() => verifier.verify(unsigned)).code, 'unauthorized')
  t.equal(authErrorOf(() => verifier.verify(hs512)).message, 'token algorithm not accepted')
})

t.test('refuses malformed tokens', async (t) => {
  for (const token of ['', 'not-a-jwt', 'a.b.c', `${signer.sign({ role: 'user', id: 'x' })}x.`]) {
    t.equal(authErrorOf(() => verifier.verify(token)).code, 'unauthorized', `token ${token}`)
  }
  t.equal(
    authErrorOf(() => verifier.verify(undefined as unknown as string)).message,
    'malformed token',
  )
})

t.test('refuses a token with an unknown role or a bad subject', async (t) => {
  const exp = inAnHour()

  t.equal(
    authErrorOf(() => verifier.verify(rawToken({ sub: 'u-7', role: 'root', exp }))).message,
    'token role not recognised',
  )
  t.equal(
    authErrorOf(() => verifier.verify(rawToken({ sub: 'u-7', exp }))).message,
    'token role not recognised',
  )
  for (const sub of ['', 'has space', 'x'.repeat(129), 42]) {
    const err = authErrorOf(() => verifier.verify(rawToken({ sub, role: 'user', exp })))
    t.match(err.message, /^token (sub must be|lacks sub)/, `sub ${JSON.stringify(sub)}`)
  }
})

t.test('accepts seats only as an integer from 1 to 1000 on an agent token', async (t) => {
  const exp = inAnHour()
  const withSeats = (seats: unknown, role = 'agent'): string =>
    rawToken({ sub: 'a-1', role, seats, exp })

  t.strictSame(verifier.verify(withSeats(1000)), { role: 'agent', id: 'a-1', seats: 1000 })
  for (const seats of [0, -1, 1.5, 1001, '3', null]) {
    t.equal(
      authErrorOf(() => verifier.verify(withSeats(seats))).message,
      'token seats must be an integer from 1 to 1000',
      `seats ${JSON.stringify(seats)}`,
    )
  }
  t.equal(
    authErrorOf(() => verifier.verify(withSeats(2, 'user'))).message,
    'token seats are for agents only',
  )
})

t.test('never puts the token in the error message or details', async (t) => {
  const exp = inAnHour()
  const tokens = [
    createTokenSigner(OTHER_SECRET).sign({ role: 'user', id: 'leaky-sub' }),
    rawToken({ sub: 'leaky-sub', role: 'leaky-role', exp }),
    rawToken({ sub: 'leaky-sub', role: 'agent', seats: 'leaky-seats', exp }),
    rawToken({ sub: 'leaky-sub', role: 'user', exp: 1 }),
    'leaky.token.value',
  ]

  for (const token of tokens) {
    const err = authErrorOf(() => verifier.verify(token))
    const shown = `${err.message} ${JSON.stringify(err.details)} ${String(err.stack)}`
    t.notMatch(shown, token)
    t.notMatch(shown, 'leaky')
  }
})

t.test('signer refuses to sign a principal the verifier would refuse', async (t) => {
  t.throws(() => signer.sign({ role: 'user', id: 'u-8', seats: 2 }), RangeError)
  t.throws(() => signer.sign({ role: 'agent', id: 'a-2', seats: 0 }), RangeError)
  t.throws(() => signer.sign({ role: 'agent', id: '' }), RangeError)
  t.throws(() => signer.sign({ role: 'boss' as 'admin', id: 'b' }), RangeError)
  t.throws(() => signer.sign({ role: 'user', id: 'u-8', expiresInSec: 0 }), RangeError)
})

t.test('refuses to build a verifier or signer without a secret', async (t) => {
  t.throws(() => createTokenVerifier(''), RangeError)
  t.throws(() => createTokenSigner(''), RangeError)
})
