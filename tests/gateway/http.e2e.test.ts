import t, { type Test } from 'tap'
import { startTestServer, uniqueId, type TestServer } from '../support/server'
import { TestClient, type Frame } from '../support/ws-client'

type Entry = { seq: number; messageId: string; from: { role: string }; content?: { text: string } }

const text = (s: string) => ({ format: 'text', text: s })
const notice = (event: string, conversationId: string) => (f: Frame) =>
  f.type === 'system' && f.event === event && f.conversationId === conversationId

async function get(server: TestServer, path: string, token?: string) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
  const res = await fetch(`${server.httpUrl}${path}`, { headers })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
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

async function firstMessage(client: TestClient, body = 'hello'): Promise<string> {
  const sent = await client.sendMessage({ clientMsgId: uniqueId('c'), content: text(body) })
  if (sent.type !== 'sent') throw new Error(`send refused: ${JSON.stringify(sent)}`)
  return String(sent.conversationId)
}

const idsOf = (body: Record<string, unknown>) =>
  (body.conversations as { conversationId: string }[]).map((c) => c.conversationId).sort()

t.test('answers GET /healthz with 200 and no token', async (t) => {
  const server = await givenServer(t)

  const health = await get(server, '/healthz')

  t.equal(health.status, 200)
  t.match(health.body, { status: 'ok' })
})

t.test('filters conversations by ?status= for each role', async (t) => {
  // One agent with one seat: c1 opens and is closed, c2 takes the seat, c3 waits.
  const server = await givenServer(t)
  const agentId = uniqueId('agent')
  const [user1, user2, user3] = [uniqueId('user'), uniqueId('user'), uniqueId('user')]
  const agent = await connect(t, server, 'agent', agentId, 1)
  const u1 = await connect(t, server, 'user', user1)
  const c1 = await firstMessage(u1)
  await agent.next(notice('assigned', c1))
  agent.send({ type: 'close', conversationId: c1 })
  await u1.next(notice('closed', c1))
  const u2 = await connect(t, server, 'user', user2)
  const c2 = await firstMessage(u2)
  await u2.next(notice('assigned', c2))
  const u3 = await connect(t, server, 'user', user3)
  const c3 = await firstMessage(u3)
  await u3.next(notice('queued', c3))
  const admin = server.token('admin', uniqueId('admin'))
  const list = async (token: string, query = '') =>
    idsOf((await get(server, `/v1/conversations${query}`, token)).body)

  t.same(await list(admin), [c1, c2, c3].sort(), 'no filter: all')
  t.same(await list(admin, '?status=open'), [c2])
  t.same(await list(admin, '?status=queued'), [c3])
  t.same(await list(admin, '?status=closed'), [c1])
  const agentToken = server.token('agent', agentId)
  t.same(await list(agentToken, '?status=open'), [c2], 'an agent: open')
  t.same(await list(agentToken, '?status=closed'), [c1], 'an agent: closed')
  t.same(await list(agentToken, '?status=queued'), [], 'an agent has no queued conversation')
  t.same(await list(server.token('user', user1), '?status=closed'), [c1], 'a user: closed')
  t.same(await list(server.token('user', user1), '?status=open'), [], 'a user: nothing open')
  t.same(await list(server.token('user', user3), '?status=queued'), [c3], 'a user: queued')
  const newestFirst = (await get(server, '/v1/conversations', admin)).body.conversations as {
    conversationId: string
    status: string
  }[]
  t.same(
    newestFirst.map((c) => [c.conversationId, c.status]),
    [
      [c3, 'queued'],
      [c2, 'open'],
      [c1, 'closed'],
    ],
    'newest first, each with its status',
  )
})

t.test('pages a conversation’s history with afterSeq and limit', async (t) => {
  const server = await givenServer(t)
  const userId = uniqueId('user')
  const agent = await connect(t, server, 'agent', uniqueId('agent'), 5)
  const user = await connect(t, server, 'user', userId)
  const conversationId = await firstMessage(user, 'm0')
  await agent.next(notice('assigned', conversationId))
  for (let i = 1; i < 6; i++) {
    const sent = await user.sendMessage({ clientMsgId: uniqueId('c'), content: text(`m${i}`) })
    t.equal(sent.type, 'sent')
  }
  const token = server.token('user', userId)
  const page = async (query: string) => {
    const res = await get(server, `/v1/conversations/${conversationId}/messages${query}`, token)
    t.equal(res.status, 200, query)
    return res.body.messages as Entry[]
  }

  const everything = await page('')
  const seqs = everything.map((m) => m.seq)
  t.same(
    seqs,
    seqs.map((_, i) => i + 1),
    'the whole timeline, from seq 1, gapless',
  )
  t.same(
    everything.filter((m) => m.content).map((m) => m.content?.text),
    ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'],
    'messages in the order sent, notices between them',
  )
  t.same(await page('?afterSeq=0'), everything, 'afterSeq defaults to 0')

  const paged: Entry[] = []
  let afterSeq = 0
  for (;;) {
    const next = await page(`?afterSeq=${afterSeq}&limit=3`)
    t.ok(next.length <= 3, 'never more than the limit')
    if (next.length === 0) break
    paged.push(...next)
    afterSeq = next[next.length - 1].seq
  }
  t.same(paged, everything, 'pages of three add up to the whole timeline')
  t.same(
    (await page('?afterSeq=2&limit=2')).map((m) => m.seq),
    [3, 4],
    'afterSeq is exclusive',
  )
  t.same(await page(`?afterSeq=${seqs.length}`), [], 'nothing after the last seq')
})

t.test('returns 100 history entries when no limit is given', async (t) => {
  const server = await startTestServer({ env: { PARLEY_RATE_LIMIT: '10000/s' } })
  t.teardown(() => server.close())
  const userId = uniqueId('user')
  const user = await connect(t, server, 'user', userId)
  const conversationId = await firstMessage(user, 'm0')
  await user.next(notice('queued', conversationId))
  for (let i = 1; i < 150; i++) {
    user.send({ type: 'send', clientMsgId: `m${i}`, content: text(`m${i}`) })
  }
  await user.next((f) => f.type === 'sent' && f.clientMsgId === 'm149', 10_000)
  const token = server.token('user', userId)
  const page = async (query: string) =>
    (await get(server, `/v1/conversations/${conversationId}/messages${query}`, token)).body
      .messages as Entry[]

  const first = await page('')
  t.same(
    first.map((m) => m.seq),
    Array.from({ length: 100 }, (_, i) => i + 1),
    'the first 100 entries',
  )
  const all = await page('?limit=500')
  t.equal(all.length, 151, 'a bigger limit gives everything: 150 messages and the queued notice')
  t.same(all.slice(0, 100), first)
})

t.test('answers 400 bad_request for query or path parameters that do not fit', async (t) => {
  const server = await givenServer(t)
  const userId = uniqueId('user')
  const user = await connect(t, server, 'user', userId)
  const conversationId = await firstMessage(user)
  const token = server.token('user', userId)
  const history = `/v1/conversations/${conversationId}/messages`
  const bad = [
    '/v1/conversations?status=bogus',
    '/v1/conversations?status=',
    `${history}?afterSeq=-1`,
    `${history}?afterSeq=abc`,
    `${history}?afterSeq=1.5`,
    `${history}?limit=0`,
    `${history}?limit=501`,
    `${history}?limit=ten`,
    '/v1/conversations?status=open&status=closed',
    '/v1/conversations/',
  ]

  for (const path of bad) {
    const res = await get(server, path, token)
    t.equal(res.status, 400, path)
    t.equal(res.body.code, 'bad_request', path)
  }
  t.equal((await get(server, `${history}?afterSeq=0&limit=500`, token)).status, 200, 'limits fit')
})

t.test(
  'takes a conversation id of up to 128 characters and refuses a longer one as bad_request',
  async (t) => {
    const server = await givenServer(t)
    const admin = server.token('admin', uniqueId('admin'))

    for (const length of [100, 101, 128]) {
      for (const suffix of ['', '/messages']) {
        const res = await get(server, `/v1/conversations/${'x'.repeat(length)}${suffix}`, admin)
        t.equal(
          res.status,
          404,
          `a ${length}-character id is looked up${suffix && ' for messages'}`,
        )
        t.equal(res.body.code, 'not_found')
      }
    }
    const refused = [
      `/v1/conversations/${'x'.repeat(129)}`,
      `/v1/conversations/${'x'.repeat(129)}/messages`,
      '/v1/conversations/%ff',
    ]
    for (const path of refused) {
      const res = await get(server, path, admin)
      t.equal(res.status, 400, `${path.slice(0, 40)}…`)
      t.equal(res.body.code, 'bad_request', 'in the documented error shape')
    }
  },
)

t.test('answers an unknown route with 404 in the {code, message} error shape', async (t) => {
  const server = await givenServer(t)

  const res = await get(server, '/v1/no-such-route', server.token('admin', uniqueId('admin')))

  t.equal(res.status, 404)
  t.match(res.body, { code: 'not_found', message: String })
})
