import t, { type Test } from 'tap'
import { startTestServer, text, uniqueId, type TestServer } from '../support/server'
import { TestClient, waitUntil, type Frame } from '../support/ws-client'

// GET /v1/presence and GET /v1/agents, the admin lists, with people connected over real sockets.
// The default thresholds (offline after 30 s) keep everyone online for the length of a test.

type Who = { role: 'user' | 'agent' | 'admin'; id: string }
type Body = Record<string, unknown>
type PresenceRow = { role: string; id: string; status: string; connections: number }
type AgentRow = {
  agentId: string
  seats: number
  openConversations: number
  status: string
  conversations: string[]
}

async function get(server: TestServer, path: string, as?: Who) {
  const headers: Record<string, string> = {}
  if (as) headers.authorization = `Bearer ${server.token(as.role, as.id)}`
  const res = await fetch(`${server.httpUrl}${path}`, { headers })
  return { status: res.status, body: (await res.json()) as Body }
}

async function connect(t: Test, server: TestServer, who: Who, seats?: number) {
  const client = await TestClient.connect(server.wsUrl, server.token(who.role, who.id, seats))
  t.teardown(() => client.close())
  client.autoAck()
  await client.roundTrip()
  return client
}

/** Every item of a paged list, following `nextCursor`; also returns the page sizes. */
async function allPages<T>(server: TestServer, path: string, key: string, as: Who) {
  const items: T[] = []
  const sizes: number[] = []
  let cursor: string | null = null
  const sep = path.includes('?') ? '&' : '?'
  do {
    const url = cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`
    const { status, body } = await get(server, url, as)
    if (status !== 200) throw new Error(`${url}: ${status} ${JSON.stringify(body)}`)
    items.push(...(body[key] as T[]))
    sizes.push((body[key] as T[]).length)
    cursor = body.nextCursor as string | null
    if (sizes.length > 100) throw new Error(`${path}: more than 100 pages`)
  } while (cursor !== null)
  return { items, sizes }
}

const byRoleThenId = (a: { role: string; id: string }, b: { role: string; id: string }) =>
  a.role < b.role ? -1 : a.role > b.role ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0

/**
 * Agent 1 (2 seats) serving user 1; agent 2, connected without a seats claim; user 2, who
 * connected and left again (offline); an admin, connected.
 */
async function givenPeople(t: Test, server: TestServer) {
  const admin: Who = { role: 'admin', id: uniqueId('admin') }
  const agent1: Who = { role: 'agent', id: uniqueId('agent') }
  const agent2: Who = { role: 'agent', id: uniqueId('agent') }
  const user1: Who = { role: 'user', id: uniqueId('user') }
  const user2: Who = { role: 'user', id: uniqueId('user') }

  await connect(t, server, agent1, 2)
  await waitUntil(
    async () => (await get(server, `/v1/agents/${agent1.id}`, admin)).body.status === 'online',
    'agent 1 is online',
  )
  const client = await connect(t, server, user1)
  const sent = await client.sendMessage({ clientMsgId: uniqueId('m'), content: text('hi') })
  const conversationId = String(sent.conversationId)
  await client.next((f: Frame) => f.type === 'system' && f.event === 'assigned')

  await connect(t, server, agent2)
  await connect(t, server, admin)
  const leaving = await connect(t, server, user2)
  await leaving.close()
  await waitUntil(
    async () =>
      (await get(server, `/v1/presence/user/${user2.id}`, admin)).body.status === 'offline',
    'user 2 is offline',
  )
  return { admin, agent1, agent2, user1, user2, conversationId }
}

t.test('admin lists of presence and agents', async (t) => {
  const server = await startTestServer({ env: { PARLEY_RATE_LIMIT: '1000/s' } })
  t.teardown(() => server.close())
  const p = await givenPeople(t, server)
  const everyone = [p.admin, p.agent1, p.agent2, p.user1, p.user2].sort(byRoleThenId)

  t.test('GET /v1/presence lists everyone by role and id, with status', async (t) => {
    const { status, body } = await get(server, '/v1/presence', p.admin)
    t.equal(status, 200)
    const rows = body.presence as PresenceRow[]
    t.same(
      rows.map(({ role, id }) => ({ role, id })),
      everyone,
    )
    t.match(
      rows.find((r) => r.id === p.user2.id),
      { status: 'offline', connections: 0 },
    )
    t.match(
      rows.find((r) => r.id === p.user1.id),
      {
        status: 'online',
        connections: 1,
        lastHeartbeatAt: Number,
        since: Number,
      },
    )
    t.equal(body.nextCursor, null)
  })

  t.test('GET /v1/presence filters by role and status', async (t) => {
    const list = async (query: string) =>
      ((await get(server, `/v1/presence?${query}`, p.admin)).body.presence as PresenceRow[]).map(
        (r) => r.id,
      )
    t.same(await list('role=agent'), [p.agent1.id, p.agent2.id].sort())
    t.same(await list('role=admin'), [p.admin.id])
    t.same(await list('status=offline'), [p.user2.id])
    t.same(await list('role=user&status=online'), [p.user1.id])
    t.same(await list('status=left'), [])
  })

  t.test('GET /v1/presence pages without a gap or a repeat', async (t) => {
    for (const limit of [1, 2, 4]) {
      const { items, sizes } = await allPages<PresenceRow>(
        server,
        `/v1/presence?limit=${limit}`,
        'presence',
        p.admin,
      )
      t.same(
        items.map(({ role, id }) => ({ role, id })),
        everyone,
        `limit=${limit}`,
      )
      t.ok(
        sizes.slice(0, -1).every((n) => n === limit),
        'every page but the last is full',
      )
    }
    const agentsOnly = await allPages<PresenceRow>(
      server,
      '/v1/presence?role=agent&limit=1',
      'presence',
      p.admin,
    )
    t.same(agentsOnly.sizes, [1, 1], 'a role filter pages too')
  })

  t.test('GET /v1/agents lists every agent with desk and presence', async (t) => {
    const { status, body } = await get(server, '/v1/agents', p.admin)
    t.equal(status, 200)
    const rows = body.agents as AgentRow[]
    t.same(
      rows.map((r) => r.agentId),
      [p.agent1.id, p.agent2.id].sort(),
    )
    t.same(
      rows.find((r) => r.agentId === p.agent1.id),
      {
        agentId: p.agent1.id,
        seats: 2,
        openConversations: 1,
        status: 'online',
        conversations: [p.conversationId],
      },
    )
    t.same(
      rows.find((r) => r.agentId === p.agent2.id),
      {
        agentId: p.agent2.id,
        seats: server.config.agentSeats,
        openConversations: 0,
        status: 'online',
        conversations: [],
      },
      'an agent without a recorded seat count has the default',
    )
    const single = await get(server, `/v1/agents/${p.agent1.id}`, p.admin)
    t.same(single.body, { seats: 2, openConversations: 1, status: 'online' }, 'as GET /:id says')
  })

  t.test('GET /v1/agents filters by status and pages', async (t) => {
    t.same((await get(server, '/v1/agents?status=offline', p.admin)).body, {
      agents: [],
      nextCursor: null,
    })
    const { items, sizes } = await allPages<AgentRow>(
      server,
      '/v1/agents?status=online&limit=1',
      'agents',
      p.admin,
    )
    t.same(
      items.map((r) => r.agentId),
      [p.agent1.id, p.agent2.id].sort(),
    )
    t.same(sizes, [1, 1])
  })

  t.test('both lists are for admins only', async (t) => {
    const forbidden = { status: 403, body: { code: 'forbidden' } }
    for (const path of ['/v1/presence', '/v1/agents']) {
      t.match(await get(server, path, p.agent1), forbidden, `${path}: an agent`)
      t.match(await get(server, path, p.user1), forbidden, `${path}: a user`)
      t.match(await get(server, path), { status: 401, body: { code: 'unauthorized' } }, path)
    }
  })

  t.test('both lists refuse bad parameters with 400', async (t) => {
    const agentsCursor = Buffer.from(JSON.stringify(['a', p.agent1.id])).toString('base64url')
    for (const path of [
      '/v1/presence?role=robot',
      '/v1/presence?status=away',
      '/v1/presence?limit=501',
      `/v1/presence?cursor=${agentsCursor}`,
      '/v1/agents?status=busy',
      '/v1/agents?limit=0',
      '/v1/agents?cursor=%7B%7D',
    ]) {
      t.match(
        await get(server, path, p.admin),
        { status: 400, body: { code: 'bad_request' } },
        path,
      )
    }
  })

  t.test('pages past a person whose id is long and not ASCII', async (t) => {
    // First among the users, so the first one-person page ends on them.
    const parrot: Who = { role: 'user', id: `a-${uniqueId('u')}-${'🦜'.repeat(96)}` }
    await connect(t, server, parrot)
    const { items } = await allPages<PresenceRow>(
      server,
      '/v1/presence?role=user&limit=1',
      'presence',
      p.admin,
    )
    t.same(
      items.map((r) => r.id),
      [p.user1.id, p.user2.id, parrot.id].sort(),
    )
    const first = await get(server, '/v1/presence?role=user&limit=1', p.admin)
    t.ok(String(first.body.nextCursor).length > 512, 'its cursor is long, and was accepted above')
  })
})
