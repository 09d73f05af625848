import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { EventStore } from '../../src/infra/eventstore/port'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { AGENTS, PRESENCE } from '../../src/projections/readmodels'
import { EVENTS_FILE } from '../../src/server'
import { startTestServer, uniqueId, type TestServer } from '../support/server'
import { TestClient, waitUntil, type Frame } from '../support/ws-client'

type Conversation = { conversationId: string; userId: string; status: string; agentId?: string }

const text = (s: string) => ({ format: 'text', text: s })
const notice = (event: string, conversationId?: string) => (f: Frame) =>
  f.type === 'system' &&
  f.event === event &&
  (conversationId === undefined || f.conversationId === conversationId)

type Server = TestServer & { events: EventStore }

/** A server whose event log the test can read too, to check every seat ever taken. */
async function givenServer(t: Test, env: Record<string, string> = {}): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-seats-'))
  const events = createSqliteEventStore({ path: join(dataDir, EVENTS_FILE) })
  const server = await startTestServer({ env, dataDir, overrides: { events } })
  t.teardown(async () => {
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  return Object.assign(server, { events })
}

/**
 * An agent's socket, returned once the dispatcher can count the agent: online by the presence
 * read model, with the token's seats (if any) in the agents read model. Pass `id` to open
 * another socket for an agent already connected.
 */
async function givenAgent(t: Test, server: TestServer, seats?: number, id = uniqueId('agent')) {
  const client = await TestClient.connect(server.wsUrl, server.token('agent', id, seats))
  t.teardown(() => client.close())
  await waitUntil(
    async () =>
      (await presenceOf(server, id))?.status === 'online' &&
      (seats === undefined || (await seatsOf(server, id)) === seats),
    `agent ${id} online with ${seats ?? 'default'} seats`,
  )
  return { id, client }
}

async function presenceOf(server: TestServer, agentId: string) {
  return server.parley.services.readModels.get(PRESENCE, `agent:${agentId}`)
}

/** The seats recorded for an agent; undefined while none are. */
async function seatsOf(server: TestServer, agentId: string): Promise<number | undefined> {
  const doc = await server.parley.services.readModels.get(AGENTS, agentId)
  return typeof doc?.seats === 'number' ? doc.seats : undefined
}

async function givenUser(t: Test, server: TestServer) {
  const id = uniqueId('user')
  const client = await TestClient.connect(server.wsUrl, server.token('user', id))
  t.teardown(() => client.close())
  return { id, client }
}

/** A user's first message; resolves with the conversation it opened. */
async function firstMessage(user: { client: TestClient }, body = 'hello'): Promise<string> {
  const sent = await user.client.sendMessage({ clientMsgId: uniqueId('c'), content: text(body) })
  if (sent.type !== 'sent') throw new Error(`send refused: ${JSON.stringify(sent)}`)
  return String(sent.conversationId)
}

async function conversationsAsAdmin(server: TestServer): Promise<Conversation[]> {
  const res = await fetch(`${server.httpUrl}/v1/conversations`, {
    headers: { authorization: `Bearer ${server.token('admin', 'admin-1')}` },
  })
  if (res.status !== 200) throw new Error(`GET /v1/conversations answered ${res.status}`)
  return ((await res.json()) as { conversations: Conversation[] }).conversations
}

const countBy = (items: string[]) =>
  items.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>())

t.test('gives each new conversation to the least-loaded online agent', async (t) => {
  const server = await givenServer(t)
  const a1 = await givenAgent(t, server, 5)
  const a2 = await givenAgent(t, server, 5)

  const assignedTo: string[] = []
  for (let i = 0; i < 3; i++) {
    const user = await givenUser(t, server)
    const conversationId = await firstMessage(user)
    const assigned = await user.client.next(notice('assigned', conversationId))
    assignedTo.push(String(assigned.agentId))
  }

  t.not(assignedTo[0], assignedTo[1], 'the second conversation goes to the idle agent')
  const loads = countBy(assignedTo)
  t.same([...loads.values()].sort(), [1, 2], 'loads end 2/1, not 3/0')
  const open = (await conversationsAsAdmin(server)).filter((c) => c.status === 'open')
  t.same(countBy(open.map((c) => String(c.agentId))), loads, 'the read model agrees')
  t.same(new Set(assignedTo), new Set([a1.id, a2.id]))
})

t.test(
  'queues a conversation when no agent has a free seat and tells the user its place',
  async (t) => {
    const server = await givenServer(t)
    const agent = await givenAgent(t, server, 1)

    const u1 = await givenUser(t, server)
    const c1 = await firstMessage(u1)
    await u1.client.next(notice('assigned', c1))
    const u2 = await givenUser(t, server)
    const c2 = await firstMessage(u2)
    const queued2 = await u2.client.next(notice('queued', c2))
    const u3 = await givenUser(t, server)
    const c3 = await firstMessage(u3)
    const queued3 = await u3.client.next(notice('queued', c3))

    t.equal(queued2.position, 1, 'the first waiting conversation is first in line')
    t.equal(queued3.position, 2, 'the next one is behind it')
    const byId = new Map((await conversationsAsAdmin(server)).map((c) => [c.conversationId, c]))
    t.match(byId.get(c1), { status: 'open', agentId: agent.id })
    t.match(byId.get(c2), { status: 'queued' })
    t.match(byId.get(c3), { status: 'queued' })
    t.notOk(byId.get(c2)?.agentId, 'a queued conversation has no agent')
  },
)

t.test('stores messages sent while queued and pushes them to the agent in seq order', async (t) => {
  const server = await givenServer(t)
  const user = await givenUser(t, server)

  const conversationId = await firstMessage(user, 'one')
  await user.client.next(notice('queued', conversationId))
  const sent = [
    await user.client.sendMessage({ clientMsgId: uniqueId('c'), content: text('two') }),
    await user.client.sendMessage({ clientMsgId: uniqueId('c'), content: text('three') }),
  ]
  t.same(
    sent.map((f) => [f.type, f.conversationId]),
    [
      ['sent', conversationId],
      ['sent', conversationId],
    ],
    'messages to a waiting conversation are stored',
  )

  const agent = await givenAgent(t, server, 2)
  await user.client.next(notice('assigned', conversationId))
  const pushed = [
    await agent.client.next('message'),
    await agent.client.next('message'),
    await agent.client.next('message'),
  ]

  t.same(
    pushed.map((f) => (f.content as { text: string }).text),
    ['one', 'two', 'three'],
    'the agent gets the waiting messages in the order sent',
  )
  const seqs = pushed.map((f) => Number(f.seq))
  t.same(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'in seq order',
  )
  t.same(
    seqs.slice(1),
    sent.map((f) => Number(f.seq)),
    'with the seqs the user was given',
  )
  t.ok(
    pushed.every((f) => f.conversationId === conversationId),
    'all from the assigned conversation',
  )
})

t.test('never gives an agent more conversations than seats when many open at once', async (t) => {
  const server = await givenServer(t)
  const agents = [await givenAgent(t, server, 3), await givenAgent(t, server, 3)]
  const users = await Promise.all(Array.from({ length: 20 }, () => givenUser(t, server)))

  // All twenty first messages are in flight together.
  const conversationIds = await Promise.all(users.map((u) => firstMessage(u)))
  const firstNotices = await Promise.all(
    users.map((u, i) =>
      u.client.next(
        (f) => notice('assigned', conversationIds[i])(f) || notice('queued', conversationIds[i])(f),
        10_000,
      ),
    ),
  )
  const settled = async () => {
    const all = await conversationsAsAdmin(server)
    const open = all.filter((c) => c.status === 'open').length
    const queued = all.filter((c) => c.status === 'queued').length
    return open === 6 && queued === 14
  }
  await waitUntil(settled, '6 open and 14 queued conversations', 10_000)
  // A latecomer makes the dispatcher look at the queue once more: the seats stay as they were.
  const latecomer = await givenUser(t, server)
  const late = await firstMessage(latecomer)
  const lateQueued = await latecomer.client.next(notice('queued', late))
  t.equal(lateQueued.position, 15, 'a latecomer waits behind the fourteen')

  const all = await conversationsAsAdmin(server)
  const open = all.filter((c) => c.status === 'open')
  t.equal(open.length, 6, 'exactly six conversations are assigned')
  t.equal(
    all.filter((c) => c.status === 'queued').length,
    15,
    'the other fourteen wait, and the latecomer',
  )
  t.same(
    [...countBy(open.map((c) => String(c.agentId))).entries()].sort(),
    agents.map((a) => [a.id, 3]).sort(),
    'three for each agent',
  )
  for (const agent of agents) {
    const desk = await server.parley.services.desks.read(agent.id)
    t.equal(desk.conversations.size, 3, `${agent.id}'s desk holds three`)
    const doc = await server.parley.services.readModels.get(AGENTS, agent.id)
    t.match(doc, { seats: 3, openConversations: 3 }, 'the agents read model agrees')

    let held = 0
    let most = 0
    for (const e of await server.events.readStream(`agent-${agent.id}`)) {
      if (e.type === 'SeatTaken') held += 1
      if (e.type === 'SeatReleased') held -= 1
      most = Math.max(most, held)
    }
    t.equal(most, 3, `${agent.id} never held more than three seats, even for a moment`)
  }
  const stillQueued = (i: number) => !open.some((c) => c.conversationId === conversationIds[i])
  const positions = firstNotices
    .filter((f, i) => stillQueued(i) && f.event === 'queued')
    .map((f) => Number(f.position))
  t.equal(positions.length, 14, 'every waiting user was told so')
  t.same(
    positions.sort((a, b) => a - b),
    Array.from({ length: 14 }, (_, i) => i + 1),
    'the places in line are 1 to 14, each told once',
  )
})

t.test('frees the seat on close and assigns the earliest waiting conversation', async (t) => {
  const server = await givenServer(t)
  const agent = await givenAgent(t, server, 1)
  const u1 = await givenUser(t, server)
  const c1 = await firstMessage(u1)
  await agent.client.next(notice('assigned', c1))
  const u2 = await givenUser(t, server)
  const c2 = await firstMessage(u2, 'first in line')
  await u2.client.next(notice('queued', c2))
  const u3 = await givenUser(t, server)
  const c3 = await firstMessage(u3, 'second in line')
  await u3.client.next(notice('queued', c3))

  agent.client.send({ type: 'close', conversationId: c1 })

  await u1.client.next(notice('closed', c1))
  const assigned = await u2.client.next(notice('assigned', c2))
  t.equal(assigned.agentId, agent.id, 'the earliest waiting conversation takes the freed seat')
  await agent.client.next(notice('assigned', c2))
  const pushed = await agent.client.next((f) => f.type === 'message' && f.conversationId === c2)
  t.match(pushed.content, text('first in line'), 'its waiting message reaches the agent')
  const byId = new Map((await conversationsAsAdmin(server)).map((c) => [c.conversationId, c]))
  t.match(byId.get(c1), { status: 'closed', agentId: agent.id })
  t.match(byId.get(c2), { status: 'open', agentId: agent.id })
  t.match(byId.get(c3), { status: 'queued' }, 'the later one still waits')
  t.same([...(await server.parley.services.desks.read(agent.id)).conversations], [c2])
})

t.test('gives no new conversation to an agent without a connection', async (t) => {
  const server = await givenServer(t)
  const gone = await givenAgent(t, server, 5)
  await gone.client.close()
  await waitUntil(
    async () => (await presenceOf(server, gone.id))?.status === 'offline',
    'the disconnected agent goes offline',
  )

  const user = await givenUser(t, server)
  const conversationId = await firstMessage(user)
  await user.client.next(notice('queued', conversationId))
  const waiting = (await conversationsAsAdmin(server)).find(
    (c) => c.conversationId === conversationId,
  )
  t.match(waiting, { status: 'queued' }, 'the offline agent does not get it')
  t.notOk(waiting?.agentId)

  const online = await givenAgent(t, server, 5)
  const assigned = await user.client.next(notice('assigned', conversationId))
  t.equal(assigned.agentId, online.id, 'the agent who comes online does')
})

t.test('lets the token seats claim override PARLEY_AGENT_SEATS', async (t) => {
  const server = await givenServer(t, { PARLEY_AGENT_SEATS: '1' })
  const agent = await givenAgent(t, server, 3)

  const outcomes: string[] = []
  for (let i = 0; i < 4; i++) {
    const user = await givenUser(t, server)
    const conversationId = await firstMessage(user)
    const first = await user.client.next(
      (f) => notice('assigned', conversationId)(f) || notice('queued', conversationId)(f),
    )
    outcomes.push(String(first.event))
  }

  t.same(outcomes, ['assigned', 'assigned', 'assigned', 'queued'], 'three seats, from the token')
  t.equal((await server.parley.services.desks.read(agent.id)).conversations.size, 3)
})

t.test('gives an agent whose token has no seats claim PARLEY_AGENT_SEATS seats', async (t) => {
  const server = await givenServer(t, { PARLEY_AGENT_SEATS: '2' })
  const agent = await givenAgent(t, server)

  const outcomes: string[] = []
  for (let i = 0; i < 3; i++) {
    const user = await givenUser(t, server)
    const conversationId = await firstMessage(user)
    const first = await user.client.next(
      (f) => notice('assigned', conversationId)(f) || notice('queued', conversationId)(f),
    )
    outcomes.push(String(first.event))
  }

  t.same(outcomes, ['assigned', 'assigned', 'queued'], 'two seats, from the environment')
  t.equal((await server.parley.services.desks.read(agent.id)).conversations.size, 2)
})

/** The agent's desk as its log tells it: `+id` for each seat taken, `-id` for each released. */
async function deskLog(server: Server, agentId: string): Promise<string[]> {
  return (await server.events.readStream(`agent-${agentId}`)).flatMap((e) => {
    const { conversationId } = e.data as { conversationId?: string }
    if (e.type === 'SeatTaken') return [`+${conversationId}`]
    if (e.type === 'SeatReleased') return [`-${conversationId}`]
    return []
  })
}

t.test(
  'gives a freed seat to the earliest waiting conversation, not to one arriving meanwhile',
  async (t) => {
    const server = await givenServer(t)
    const agent = await givenAgent(t, server, 1)
    const u1 = await givenUser(t, server)
    const c1 = await firstMessage(u1)
    await agent.client.next(notice('assigned', c1))
    const u2 = await givenUser(t, server)
    const c2 = await firstMessage(u2)
    await u2.client.next(notice('queued', c2))
    const newcomer = await givenUser(t, server)

    agent.client.send({ type: 'close', conversationId: c1 })
    const c3 = await firstMessage(newcomer)

    const assigned = await u2.client.next(notice('assigned', c2))
    t.equal(assigned.agentId, agent.id, 'the one who waited gets the seat')
    await newcomer.client.next(notice('queued', c3))
    t.same(
      await deskLog(server, agent.id),
      [`+${c1}`, `-${c1}`, `+${c2}`],
      'the newcomer never held it',
    )
  },
)

t.test('keeps giving conversations to an agent who closes one of two sockets', async (t) => {
  const server = await givenServer(t)
  const agent = await givenAgent(t, server, 5)
  const secondTab = await givenAgent(t, server, 5, agent.id)
  await waitUntil(
    async () => (await presenceOf(server, agent.id))?.connections === 2,
    'both sockets recorded',
  )

  await secondTab.client.close()
  await waitUntil(
    async () => (await presenceOf(server, agent.id))?.connections === 1,
    'the closed socket is recorded',
  )

  t.equal((await presenceOf(server, agent.id))?.status, 'online', 'the agent is still online')
  const user = await givenUser(t, server)
  const conversationId = await firstMessage(user)
  const assigned = await user.client.next(notice('assigned', conversationId))
  t.equal(assigned.agentId, agent.id)
  await agent.client.next(notice('assigned', conversationId))
})

t.test('assigns a waiting conversation when the agent reconnects with more seats', async (t) => {
  const server = await givenServer(t)
  const agent = await givenAgent(t, server, 1)
  const u1 = await givenUser(t, server)
  const c1 = await firstMessage(u1)
  await u1.client.next(notice('assigned', c1))
  const u2 = await givenUser(t, server)
  const c2 = await firstMessage(u2)
  await u2.client.next(notice('queued', c2))

  const wider = await TestClient.connect(server.wsUrl, server.token('agent', agent.id, 2))
  t.teardown(() => wider.close())

  const assigned = await u2.client.next(notice('assigned', c2))
  t.equal(assigned.agentId, agent.id, 'the new seat is filled from the queue')
  t.equal(await seatsOf(server, agent.id), 2)
})

t.test('takes no conversation away from an agent whose seats are lowered', async (t) => {
  const server = await givenServer(t)
  const agent = await givenAgent(t, server, 2)
  const [u1, u2] = [await givenUser(t, server), await givenUser(t, server)]
  const c1 = await firstMessage(u1)
  await u1.client.next(notice('assigned', c1))
  const c2 = await firstMessage(u2)
  await u2.client.next(notice('assigned', c2))

  await givenAgent(t, server, 1, agent.id)
  const u3 = await givenUser(t, server)
  const c3 = await firstMessage(u3)
  await u3.client.next(notice('queued', c3))
  const byId = new Map((await conversationsAsAdmin(server)).map((c) => [c.conversationId, c]))
  t.match(byId.get(c1), { status: 'open', agentId: agent.id }, 'the first stays with the agent')
  t.match(byId.get(c2), { status: 'open', agentId: agent.id }, 'and so does the second')

  // Down to one held, which is the new number of seats: no room yet. Down to none: room.
  agent.client.send({ type: 'close', conversationId: c1 })
  await u1.client.next(notice('closed', c1))
  agent.client.send({ type: 'close', conversationId: c2 })
  await u2.client.next(notice('closed', c2))

  await u3.client.next(notice('assigned', c3))
  t.same(
    await deskLog(server, agent.id),
    [`+${c1}`, `+${c2}`, `-${c1}`, `-${c2}`, `+${c3}`],
    'the waiting one got a seat only once both were released',
  )
})
