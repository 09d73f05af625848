import { rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConversationCommands } from '../../src/infra/commands/conversation-commands'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { createSnowflake } from '../../src/infra/ids/snowflake'
import { EVENTS_FILE } from '../../src/server'
import { makeDataDir, startTestServer, uniqueId, type TestServer } from '../support/server'
import { TestClient } from '../support/ws-client'

// GET /v1/queue over a seeded history: conversations waiting since chosen times (several in the
// same millisecond), two sent back by agents who left, and others open or closed. No agent is
// online when the server starts, so nothing is assigned until a test connects one.

type Who = { role: 'user' | 'agent' | 'admin'; id: string }
type Body = Record<string, unknown>
type Entry = {
  conversationId: string
  userId: string
  waitingSince: number
  position: number
  requeued: boolean
}

const T0 = Date.UTC(2025, 2, 3, 9)

/** A waiting conversation as the seed expects the queue to show it (without its position). */
type Waiting = Omit<Entry, 'position'>

/**
 * Nine conversations. Waiting: three opened at T0 (one of them held by agent 0 until it left at
 * T0+5s), one at T0+1s, two at T0+2s, one opened at T0+3s and held by agent 1 until T0+6s.
 * Not waiting: one open with agent 0, one closed by agent 1. Returns the waiting ones in the
 * order they are served: requeued first by the time their agent left, then by opening time,
 * ties by conversationId.
 */
async function seed(dataDir: string) {
  let now = T0
  const clock = { now: () => now }
  const events = createSqliteEventStore({ path: join(dataDir, EVENTS_FILE) })
  const commands = new ConversationCommands(events, createSnowflake({ workerId: 9 }), clock, {
    ackTimeoutMs: 5000,
    maxAttempts: 5,
  })
  const agents = [uniqueId('agent'), uniqueId('agent')]
  const fresh: Waiting[] = []
  const back: { at: number; entry: Waiting; agentId: string }[] = []

  const plan: [at: number, agent: number | null, then: 'wait' | 'open' | 'close' | number][] = [
    [0, null, 'wait'],
    [0, 0, 5000],
    [0, null, 'wait'],
    [1000, null, 'wait'],
    [1000, 0, 'open'],
    [1000, 1, 'close'],
    [2000, null, 'wait'],
    [2000, null, 'wait'],
    [3000, 1, 6000],
  ]
  for (const [at, a, then] of plan) {
    now = T0 + at
    const userId = uniqueId('user')
    const { conversationId } = await commands.currentConversationOf(userId)
    if (a === null) {
      await commands.queue(conversationId, fresh.length + 1)
      fresh.push({ conversationId, userId, waitingSince: now, requeued: false })
      continue
    }
    const agentId = agents[a]
    await commands.assign(conversationId, agentId)
    if (then === 'close') {
      await commands.close({ role: 'agent', id: agentId }, conversationId, 'agent_closed')
    }
    if (typeof then === 'number') {
      const entry = { conversationId, userId, waitingSince: T0 + then, requeued: true }
      back.push({ at: T0 + then, entry, agentId })
    }
  }
  for (const { at, entry, agentId } of back.sort((x, y) => x.at - y.at)) {
    now = at
    await commands.requeue(entry.conversationId, agentId)
  }
  await events.close()

  const byOpening = (x: Waiting, y: Waiting) =>
    x.waitingSince - y.waitingSince || (x.conversationId < y.conversationId ? -1 : 1)
  const waiting = [...back.map((b) => b.entry), ...fresh.sort(byOpening)]
  return waiting.map((entry, i): Entry => ({ ...entry, position: i + 1 }))
}

async function get(server: TestServer, path: string, as?: Who) {
  const headers: Record<string, string> = {}
  if (as) headers.authorization = `Bearer ${server.token(as.role, as.id)}`
  const res = await fetch(`${server.httpUrl}${path}`, { headers })
  return { status: res.status, body: (await res.json()) as Body }
}

/** Every page of the queue at this page size, first to last. */
async function allPages(server: TestServer, limit: number, as: Who): Promise<Entry[][]> {
  const pages: Entry[][] = []
  let cursor: string | null = null
  for (let i = 0; i <= 100; i++) {
    const query = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`
    const { status, body } = await get(server, `/v1/queue?limit=${limit}${query}`, as)
    if (status !== 200) throw new Error(`limit=${limit}: ${status} ${JSON.stringify(body)}`)
    pages.push(body.queue as Entry[])
    cursor = body.nextCursor as string | null
    if (cursor === null) return pages
  }
  throw new Error(`limit=${limit}: more than 100 pages`)
}

t.test('GET /v1/queue over a seeded history', async (t) => {
  const dataDir = makeDataDir()
  const expected = await seed(dataDir)
  const server = await startTestServer({ dataDir })
  t.teardown(async () => {
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  const agent: Who = { role: 'agent', id: uniqueId('agent') }
  const admin: Who = { role: 'admin', id: uniqueId('admin') }

  t.test('shows an agent the waiting line in serving order, with no content', async (t) => {
    const { status, body } = await get(server, '/v1/queue', agent)
    t.equal(status, 200)
    t.same(body, { queue: expected, nextCursor: null }, 'exactly these fields, head first')
    t.same(
      (body.queue as Entry[]).slice(0, 2).map((e) => e.requeued),
      [true, true],
      'conversations whose agent left stand at the head, in the order their agents left',
    )
  })

  t.test('shows an admin the same line', async (t) => {
    t.same((await get(server, '/v1/queue', admin)).body, { queue: expected, nextCursor: null })
  })

  t.test('pages through ties without a gap or a repeat, positions counting on', async (t) => {
    for (let limit = 1; limit <= expected.length + 1; limit++) {
      const pages = await allPages(server, limit, agent)
      t.same(pages.flat(), expected, `limit=${limit}`)
      t.ok(
        pages.slice(0, -1).every((p) => p.length === limit),
        `only the last page of limit=${limit} is short`,
      )
      t.ok(pages[pages.length - 1].length > 0, `no empty last page at limit=${limit}`)
    }
  })

  t.test('refuses users with 403 and a missing token with 401', async (t) => {
    t.match(await get(server, '/v1/queue', { role: 'user', id: expected[0].userId }), {
      status: 403,
      body: { code: 'forbidden' },
    })
    t.match(await get(server, '/v1/queue'), { status: 401, body: { code: 'unauthorized' } })
  })

  t.test('refuses bad parameters and cursors of other lists with 400', async (t) => {
    const conversationsCursor = (await get(server, '/v1/conversations?limit=1', admin)).body
      .nextCursor as string
    const forged = (values: unknown[]) =>
      Buffer.from(JSON.stringify(['q', ...values])).toString('base64url')
    for (const query of [
      'limit=0',
      'limit=501',
      'limit=many',
      'cursor=not-a-cursor',
      `cursor=${conversationsCursor}`,
      `cursor=${forged([T0, expected[0].conversationId])}`,
      `cursor=${forged([T0, expected[0].conversationId, 0])}`,
      `cursor=${forged(['soon', expected[0].conversationId, 1])}`,
    ]) {
      t.match(
        await get(server, `/v1/queue?${query}`, agent),
        { status: 400, body: { code: 'bad_request', message: String } },
        query,
      )
    }
  })

  // Last: it changes the queue. The endpoint's order is the dispatcher's if the agent who comes
  // online with one seat gets the conversation at the head and the rest move up one place.
  t.test('the head of the line is what the dispatcher assigns next', async (t) => {
    const id = uniqueId('agent')
    const desk = await TestClient.connect(server.wsUrl, server.token('agent', id, 1))
    t.teardown(() => desk.close())
    desk.autoAck()
    const assigned = await desk.next((f) => f.type === 'system' && f.event === 'assigned')
    t.equal(assigned.conversationId, expected[0].conversationId, 'the head was assigned')

    const { body } = await get(server, '/v1/queue', { role: 'agent', id })
    t.same(
      body.queue,
      expected.slice(1).map((e) => ({ ...e, position: e.position - 1 })),
      'everyone else moved up one place',
    )
  })
})
