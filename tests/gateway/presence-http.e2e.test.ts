import t, { type Test } from 'tap'
import { startTestServer, text, uniqueId, type TestServer } from '../support/server'
import { TestClient, waitUntil, type Frame } from '../support/ws-client'

// GET /v1/presence/:role/:id and GET /v1/agents/:id: their shapes and who may read them. The
// default thresholds (offline after 30 s) keep everyone online for the length of a test.

type Who = { role: 'user' | 'agent' | 'admin'; id: string }

async function givenServer(t: Test): Promise<TestServer> {
  const server = await startTestServer({ env: { PARLEY_RATE_LIMIT: '1000/s' } })
  t.teardown(() => server.close())
  return server
}

async function get(server: TestServer, path: string, as?: Who) {
  const headers: Record<string, string> = {}
  if (as) headers.authorization = `Bearer ${server.token(as.role, as.id)}`
  const res = await fetch(`${server.httpUrl}${path}`, { headers })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function connect(t: Test, server: TestServer, who: Who, seats?: number) {
  const client = await TestClient.connect(server.wsUrl, server.token(who.role, who.id, seats))
  t.teardown(() => client.close())
  client.autoAck()
  await client.roundTrip()
  return client
}

const notice = (event: string, conversationId: string) => (f: Frame) =>
  f.type === 'system' && f.event === event && f.conversationId === conversationId

/** A user whose conversation is open with `agent`, another agent, another user, an admin. */
async function givenPeople(t: Test, server: TestServer) {
  const agent: Who = { role: 'agent', id: uniqueId('agent') }
  const user: Who = { role: 'user', id: uniqueId('user') }
  const agentClient = await connect(t, server, agent, 3)
  await waitUntil(
    async () => (await get(server, `/v1/agents/${agent.id}`, agent)).body.status === 'online',
    'the agent is online',
  )
  const userClient = await connect(t, server, user)
  const sent = await userClient.sendMessage({ clientMsgId: uniqueId('m'), content: text('hi') })
  const conversationId = String(sent.conversationId)
  await userClient.next(notice('assigned', conversationId))

  const otherAgent: Who = { role: 'agent', id: uniqueId('agent') }
  await connect(t, server, otherAgent, 2)
  const otherUser: Who = { role: 'user', id: uniqueId('user') }
  await connect(t, server, otherUser)
  const admin: Who = { role: 'admin', id: uniqueId('admin') }
  return { agent, agentClient, user, userClient, conversationId, otherAgent, otherUser, admin }
}

t.test('GET /v1/presence/:role/:id', async (t) => {
  const server = await givenServer(t)
  const p = await givenPeople(t, server)
  const userPath = `/v1/presence/user/${p.user.id}`

  t.test('shows a person their own presence, in a stable shape', async (t) => {
    const { status, body } = await get(server, userPath, p.user)
    t.equal(status, 200)
    t.same(Object.keys(body).sort(), ['connections', 'lastHeartbeatAt', 'status'])
    t.match(body, { status: 'online', connections: 1, lastHeartbeatAt: Number })
    t.ok(Math.abs(Number(body.lastHeartbeatAt) - Date.now()) < 5_000, 'a recent epoch time')
  })

  t.test("lets the user's agent and an admin read it", async (t) => {
    t.match(await get(server, userPath, p.agent), { status: 200, body: { status: 'online' } })
    t.match(await get(server, userPath, p.admin), { status: 200, body: { status: 'online' } })
    t.match(await get(server, `/v1/presence/agent/${p.otherAgent.id}`, p.admin), { status: 200 })
    t.match(await get(server, `/v1/presence/agent/${p.agent.id}`, p.agent), { status: 200 })
  })

  t.test('refuses everyone else with 403', async (t) => {
    const forbidden = { status: 403, body: { code: 'forbidden' } }
    t.match(await get(server, userPath, p.otherAgent), forbidden, 'an agent not serving the user')
    t.match(await get(server, userPath, p.otherUser), forbidden, 'another user')
    t.match(
      await get(server, `/v1/presence/agent/${p.agent.id}`, p.user),
      forbidden,
      'a user asking about their agent',
    )
    t.match(
      await get(server, `/v1/presence/agent/${p.otherAgent.id}`, p.agent),
      forbidden,
      'one agent about another',
    )
    t.match(
      await get(server, `/v1/presence/agent/${p.user.id}`, p.user),
      forbidden,
      'same id, other role',
    )
    t.match(
      await get(server, `/v1/presence/user/${uniqueId('ghost')}`, p.otherUser),
      forbidden,
      'before 404',
    )
  })

  t.test('answers 404 for someone who never connected', async (t) => {
    const ghost = uniqueId('ghost')
    const notFound = { status: 404, body: { code: 'not_found' } }
    t.match(await get(server, `/v1/presence/user/${ghost}`, p.admin), notFound, 'to an admin')
    t.match(
      await get(server, `/v1/presence/user/${ghost}`, { role: 'user', id: ghost }),
      notFound,
      'to themselves',
    )
  })

  t.test('refuses a missing token and a bad role', async (t) => {
    t.match(await get(server, userPath), { status: 401, body: { code: 'unauthorized' } })
    t.match(await get(server, `/v1/presence/robot/${p.user.id}`, p.admin), {
      status: 400,
      body: { code: 'bad_request' },
    })
  })

  t.test('counts connections and follows heartbeats', async (t) => {
    const before = Number((await get(server, userPath, p.user)).body.lastHeartbeatAt)
    const second = await connect(t, server, p.user)
    t.match(await get(server, userPath, p.user), { body: { connections: 2, status: 'online' } })
    await waitUntil(() => Date.now() > before + 5, 'the clock moves')
    await second.roundTrip()
    const after = Number((await get(server, userPath, p.user)).body.lastHeartbeatAt)
    t.ok(after > before, 'a heartbeat moves lastHeartbeatAt')
    await second.close()
    await waitUntil(
      async () => (await get(server, userPath, p.user)).body.connections === 1,
      'the closed socket is counted out',
    )
    t.match(await get(server, userPath, p.user), { body: { status: 'online' } })
  })

  t.test("ends the agent's access with the conversation", async (t) => {
    p.agentClient.send({ type: 'close', conversationId: p.conversationId })
    await p.userClient.next(notice('closed', p.conversationId))
    await waitUntil(
      async () => (await get(server, userPath, p.agent)).status === 403,
      'the former agent is refused',
    )
    t.pass('refused once the conversation is closed')
  })
})

t.test('GET /v1/agents/:id', async (t) => {
  const server = await givenServer(t)
  const p = await givenPeople(t, server)
  const agentPath = `/v1/agents/${p.agent.id}`

  t.test('shows an agent their desk and presence, in a stable shape', async (t) => {
    const { status, body } = await get(server, agentPath, p.agent)
    t.equal(status, 200)
    t.same(body, { seats: 3, openConversations: 1, status: 'online' })
  })

  t.test('lets an admin read any agent', async (t) => {
    t.same((await get(server, agentPath, p.admin)).body, {
      seats: 3,
      openConversations: 1,
      status: 'online',
    })
    t.same((await get(server, `/v1/agents/${p.otherAgent.id}`, p.admin)).body, {
      seats: 2,
      openConversations: 0,
      status: 'online',
    })
  })

  t.test('refuses other agents and users with 403', async (t) => {
    const forbidden = { status: 403, body: { code: 'forbidden' } }
    t.match(await get(server, agentPath, p.otherAgent), forbidden)
    t.match(await get(server, agentPath, p.user), forbidden, "even the agent's own customer")
    t.match(await get(server, `/v1/agents/${uniqueId('ghost')}`, p.user), forbidden, 'before 404')
  })

  t.test('answers 404 for an agent who never connected', async (t) => {
    const ghost = uniqueId('ghost')
    t.match(await get(server, `/v1/agents/${ghost}`, p.admin), {
      status: 404,
      body: { code: 'not_found' },
    })
    t.match(await get(server, `/v1/agents/${ghost}`, { role: 'agent', id: ghost }), { status: 404 })
  })

  t.test('shows an agent whose socket closed as offline, still holding their seat', async (t) => {
    await p.agentClient.close()
    await waitUntil(
      async () => (await get(server, agentPath, p.admin)).body.status === 'offline',
      'the agent is offline',
    )
    t.same((await get(server, agentPath, p.admin)).body, {
      seats: 3,
      openConversations: 1,
      status: 'offline',
    })
  })
})
