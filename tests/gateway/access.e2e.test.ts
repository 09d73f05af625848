import { createSigner } from 'fast-jwt'
import t, { type Test } from 'tap'
import { createTokenSigner } from '../../src/infra/auth/tokens'
import { startTestServer, TEST_SECRET, uniqueId, type TestServer } from '../support/server'
import { TestClient, type Frame } from '../support/ws-client'

const text = (s: string) => ({ format: 'text', text: s })
const notice = (event: string, conversationId: string) => (f: Frame) =>
  f.type === 'system' && f.event === event && f.conversationId === conversationId

async function get(server: TestServer, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.httpUrl}${path}`, { headers })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** Why the server refuses each kind of bad token, as the 401's message says it. */
const REASONS = {
  forged: /bad token signature/,
  expired: /token expired/,
  notYetValid: /token not yet valid/,
  unsigned: /token algorithm not accepted/,
  garbage: /malformed token/,
} as const
type BadToken = keyof typeof REASONS

/**
 * Tokens the server must refuse: signed with another secret, expired, not valid yet, unsigned
 * (`alg: none`), or not a JWT at all.
 */
function badTokens(): Record<BadToken, string> {
  const forged = createTokenSigner('another-secret-0123456789abcdefghijklmnopqrstuvwxyz')
  const sign = createSigner({ key: TEST_SECRET, algorithm: 'HS256' })
  const now = Math.floor(Date.now() / 1000)
  const base64url = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const claims = { sub: uniqueId('user'), role: 'user', exp: now + 3600 }
  return {
    forged: forged.sign({ role: 'admin', id: 'mallory' }),
    expired: sign({ ...claims, exp: now - 60 }),
    notYetValid: sign({ ...claims, nbf: now + 600 }),
    unsigned: `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`,
    garbage: 'not-a-jwt',
  }
}

async function givenServer(t: Test): Promise<TestServer> {
  const server = await startTestServer()
  t.teardown(() => server.close())
  return server
}

async function connect(
  t: Test,
  server: TestServer,
  role: 'user' | 'agent',
  id: string,
  seats?: number,
) {
  const client = await TestClient.connect(server.wsUrl, server.token(role, id, seats))
  t.teardown(() => client.close())
  return client
}

/**
 * Two agents with one seat each and three users: c1 is agent A's, c2 agent B's, and c3 waits in
 * the queue. The outcome does not depend on when each agent is seen online: a full agent is
 * never chosen, and a waiting conversation is assigned as soon as a seat appears.
 */
async function givenThreeConversations(t: Test) {
  const server = await givenServer(t)
  const [agentA, agentB, user1, user2, user3] = ['agent', 'agent', 'user', 'user', 'user'].map(
    uniqueId,
  )
  const opened = async (userId: string, event: string) => {
    const client = await connect(t, server, 'user', userId)
    const sent = await client.sendMessage({ clientMsgId: uniqueId('c'), content: text('hi') })
    const conversationId = String(sent.conversationId)
    await client.next(notice(event, conversationId))
    return conversationId
  }

  await connect(t, server, 'agent', agentA, 1)
  const c1 = await opened(user1, 'assigned')
  await connect(t, server, 'agent', agentB, 1)
  const c2 = await opened(user2, 'assigned')
  const c3 = await opened(user3, 'queued')
  const token = {
    agentA: server.token('agent', agentA),
    agentB: server.token('agent', agentB),
    user1: server.token('user', user1),
    user3: server.token('user', user3),
    admin: server.token('admin', uniqueId('admin')),
  }
  return { server, c1, c2, c3, token, agentA, agentB }
}

const idsOf = (body: Record<string, unknown>) =>
  (body.conversations as { conversationId: string }[]).map((c) => c.conversationId).sort()

t.test('lists for a user only their own conversations', async (t) => {
  const { server, c1, c3, token } = await givenThreeConversations(t)

  t.same(idsOf((await get(server, '/v1/conversations', bearer(token.user1))).body), [c1])
  t.same(idsOf((await get(server, '/v1/conversations', bearer(token.user3))).body), [c3])
  const stranger = server.token('user', uniqueId('user'))
  t.same(idsOf((await get(server, '/v1/conversations', bearer(stranger))).body), [])
})

t.test('lists for an agent only the conversations assigned to them', async (t) => {
  const { server, c1, c2, token, agentA } = await givenThreeConversations(t)

  const mine = await get(server, '/v1/conversations', bearer(token.agentA))
  t.same(idsOf(mine.body), [c1], 'not the other agent’s, not the queued one')
  t.match(mine.body.conversations, [{ conversationId: c1, agentId: agentA, status: 'open' }])
  t.same(idsOf((await get(server, '/v1/conversations', bearer(token.agentB))).body), [c2])
})

t.test('lists every conversation for an admin', async (t) => {
  const { server, c1, c2, c3, token } = await givenThreeConversations(t)

  const all = await get(server, '/v1/conversations', bearer(token.admin))

  t.equal(all.status, 200)
  t.same(idsOf(all.body), [c1, c2, c3].sort())
})

t.test(
  'answers 403 for a conversation that is not the caller’s, on it and its messages',
  async (t) => {
    const { server, c1, c2, c3, token } = await givenThreeConversations(t)
    const cases: [string, string, string][] = [
      ['a user', token.user1, c2],
      ['a user', token.user1, c3],
      ['an agent', token.agentA, c2],
      ['an agent', token.agentA, c3],
      ['the other agent', token.agentB, c1],
    ]

    for (const [who, callerToken, id] of cases) {
      for (const path of [`/v1/conversations/${id}`, `/v1/conversations/${id}/messages`]) {
        const res = await get(server, path, bearer(callerToken))
        t.equal(res.status, 403, `${who}: ${path}`)
        t.equal(res.body.code, 'forbidden')
        t.notOk('messages' in res.body || 'userId' in res.body, 'nothing of it leaks')
      }
    }
  },
)

t.test('answers 200 for the caller’s own conversation and an admin for any', async (t) => {
  const { server, c1, c2, c3, token } = await givenThreeConversations(t)
  const cases: [string, string][] = [
    [token.user1, c1],
    [token.user3, c3],
    [token.agentA, c1],
    [token.agentB, c2],
    [token.admin, c1],
    [token.admin, c2],
    [token.admin, c3],
  ]

  for (const [callerToken, id] of cases) {
    const one = await get(server, `/v1/conversations/${id}`, bearer(callerToken))
    t.equal(one.status, 200)
    t.equal(one.body.conversationId, id)
    const history = await get(server, `/v1/conversations/${id}/messages`, bearer(callerToken))
    t.equal(history.status, 200)
    t.ok((history.body.messages as unknown[]).length > 0, 'with its history')
  }
})

t.test('answers 404 for a conversation that does not exist, whoever asks', async (t) => {
  const { server, token } = await givenThreeConversations(t)
  const unknown = uniqueId('no-such-conversation')

  for (const callerToken of [token.user1, token.agentA, token.admin]) {
    for (const path of [`/v1/conversations/${unknown}`, `/v1/conversations/${unknown}/messages`]) {
      const res = await get(server, path, bearer(callerToken))
      t.equal(res.status, 404, path)
      t.equal(res.body.code, 'not_found')
    }
  }
})

t.test(
  'answers 401 unauthorized over HTTP for a missing, forged, expired or unusable token',
  async (t) => {
    const { server, c1 } = await givenThreeConversations(t)
    const paths = [
      '/v1/conversations',
      `/v1/conversations/${c1}`,
      `/v1/conversations/${c1}/messages`,
    ]

    for (const path of paths) {
      const missing = await get(server, path)
      t.equal(missing.status, 401, `no token: ${path}`)
      t.match(missing.body, { code: 'unauthorized', message: /missing token/ })
      for (const [kind, token] of Object.entries(badTokens()) as [BadToken, string][]) {
        const why = REASONS[kind]
        const asHeader = await get(server, path, bearer(token))
        t.equal(asHeader.status, 401, `${kind} token as a header: ${path}`)
        t.match(asHeader.body, { code: 'unauthorized', message: why })
        const asQuery = await get(server, `${path}?token=${encodeURIComponent(token)}`)
        t.equal(asQuery.status, 401, `${kind} token in the query: ${path}`)
        t.match(asQuery.body, { code: 'unauthorized', message: why })
      }
    }
  },
)

t.test(
  'refuses the WebSocket upgrade with HTTP 401 for a missing, forged, expired or unusable token',
  async (t) => {
    const server = await givenServer(t)
    const attempts: [string, () => Promise<TestClient>][] = [
      ['no token', () => TestClient.connect(server.wsUrl)],
      ...Object.entries(badTokens()).flatMap(
        ([kind, token]): [string, () => Promise<TestClient>][] => [
          [`${kind} token in the query`, () => TestClient.connect(server.wsUrl, token)],
          [
            `${kind} token as a header`,
            () => TestClient.connect(server.wsUrl, undefined, { headers: bearer(token) }),
          ],
        ],
      ),
    ]

    for (const [what, attempt] of attempts) {
      const outcome = await attempt().then(
        (client) => {
          t.teardown(() => client.close())
          return 'open'
        },
        (err: { status?: number }) => err.status,
      )
      t.equal(outcome, 401, `${what}: refused before any socket`)
    }
    const health = await get(server, '/healthz')
    t.equal(health.body.connections, 0, 'no socket was opened')
  },
)

t.test(
  'takes the token from an Authorization header or from ?token=, over HTTP and WebSocket',
  async (t) => {
    const server = await givenServer(t)
    const userId = uniqueId('user')
    const token = server.token('user', userId)

    const viaHeader = await TestClient.connect(server.wsUrl, undefined, { headers: bearer(token) })
    t.teardown(() => viaHeader.close())
    const sent = await viaHeader.sendMessage({ clientMsgId: uniqueId('c'), content: text('hi') })
    t.equal(sent.type, 'sent', 'a socket opened with a Bearer header works')
    const viaQuery = await TestClient.connect(server.wsUrl, token)
    t.teardown(() => viaQuery.close())
    const again = await viaQuery.sendMessage({ clientMsgId: uniqueId('c'), content: text('again') })
    t.equal(again.type, 'sent', 'a socket opened with ?token= works')
    t.equal(again.conversationId, sent.conversationId, 'both speak for the same user')

    const byHeader = await get(server, '/v1/conversations', bearer(token))
    const byQuery = await get(server, `/v1/conversations?token=${encodeURIComponent(token)}`)
    t.equal(byHeader.status, 200)
    t.equal(byQuery.status, 200)
    t.same(idsOf(byHeader.body), [sent.conversationId])
    t.same(idsOf(byQuery.body), [sent.conversationId])
    const history = await get(
      server,
      `/v1/conversations/${String(sent.conversationId)}/messages?afterSeq=0&token=${encodeURIComponent(token)}`,
    )
    t.equal(history.status, 200, '?token= works beside other query parameters')
  },
)

t.test('uses the Authorization header when both it and ?token= are given', async (t) => {
  const server = await givenServer(t)
  const good = server.token('user', uniqueId('user'))
  const bad = badTokens().forged
  const query = (token: string) => `?token=${encodeURIComponent(token)}`

  t.equal((await get(server, `/v1/conversations${query(good)}`, bearer(bad))).status, 401)
  t.equal((await get(server, `/v1/conversations${query(bad)}`, bearer(good))).status, 200)
  const refused = await TestClient.connect(server.wsUrl, good, { headers: bearer(bad) }).then(
    (client) => {
      t.teardown(() => client.close())
      return 'open'
    },
    (err: { status?: number }) => err.status,
  )
  t.equal(refused, 401, 'a socket with a bad header is refused despite a good query token')
  const opened = await TestClient.connect(server.wsUrl, bad, { headers: bearer(good) })
  t.teardown(() => opened.close())
  t.equal(
    (await opened.sendMessage({ clientMsgId: uniqueId('c'), content: text('hi') })).type,
    'sent',
  )
})
