import { rmSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { Content } from '../../src/domain/content/schema'
import { ConversationCommands } from '../../src/infra/commands/conversation-commands'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { createSnowflake } from '../../src/infra/ids/snowflake'
import { EVENTS_FILE } from '../../src/server'
import { makeDataDir, startTestServer, uniqueId, type TestServer } from '../support/server'

// The read-model endpoints over a seeded history: conversations opened at chosen times (several
// in the same millisecond), a timeline whose clock steps back once, and nothing acknowledged.
// The history is written to the event log before the server starts, so every test reads the
// same data through a real listening server.

type Who = { role: 'user' | 'agent' | 'admin'; id: string }
type Body = Record<string, unknown>
type Summary = { conversationId: string; userId: string; status: string; openedAt: number }
type Entry = { seq: number; sentAt: number; from: { role: string }; content?: { text: string } }
type PendingRow = { conversationId: string; seq: number; messageId: string; pushes: number }

const T0 = Date.UTC(2025, 0, 6, 9)
const text = (value: string): Content => ({ format: 'text', text: value })

interface Seeded {
  users: string[]
  agents: string[]
  /** Every conversation, in seeding order. */
  conversations: (Summary & { agentId: string | null })[]
  /** The conversation whose timeline has hand-picked times, and those times by seq. */
  timeline: { conversationId: string; userId: string; sentAt: number[] }
}

/**
 * Ten conversations: three opened at T0, three at T0+1s, one at T0+2s, two at T0+3s, one at
 * T0+4s; user 0 has three (two closed), the rest one each; agent 0 and agent 1 hold or held
 * seven of them and three wait. Conversation 1's timeline steps back in time once.
 */
async function seed(dataDir: string): Promise<Seeded> {
  let now = T0
  const clock = { now: () => now }
  const events = createSqliteEventStore({ path: join(dataDir, EVENTS_FILE) })
  const commands = new ConversationCommands(events, createSnowflake({ workerId: 7 }), clock, {
    ackTimeoutMs: 5000,
    maxAttempts: 5,
  })
  const users = Array.from({ length: 8 }, () => uniqueId('user'))
  const agents = [uniqueId('agent'), uniqueId('agent')]
  const conversations: Seeded['conversations'] = []
  let queued = 0

  const plan: [user: number, at: number, agent: number | null, closed: boolean][] = [
    [0, 0, 0, true],
    [1, 0, 0, false],
    [2, 0, null, false],
    [3, 1000, 1, false],
    [0, 1000, 1, true],
    [4, 1000, null, false],
    [5, 2000, 0, true],
    [0, 3000, 0, false],
    [6, 3000, null, false],
    [7, 4000, 1, false],
  ]
  for (const [u, at, a, closed] of plan) {
    now = T0 + at
    const userId = users[u]
    const { conversationId } = await commands.currentConversationOf(userId)
    const agentId = a === null ? null : agents[a]
    if (agentId === null) await commands.queue(conversationId, ++queued)
    else await commands.assign(conversationId, agentId)
    if (agentId !== null && closed) {
      await commands.close({ role: 'agent', id: agentId }, conversationId, 'agent_closed')
    }
    const status = agentId === null ? 'queued' : closed ? 'closed' : 'open'
    conversations.push({ conversationId, userId, agentId, status, openedAt: now })
  }

  // Conversation 1 (user 1 with agent 0): seq 1 is the assigned notice at T0, then messages.
  const timeline = conversations[1]
  const sentAt = [T0]
  const steps: [from: 'user' | 'agent', at: number][] = [
    ['user', 10],
    ['user', 20],
    ['user', 15], // the clock stepped back
    ['agent', 30],
    ['user', 40],
    ['agent', 50],
  ]
  for (const [i, [role, at]] of steps.entries()) {
    now = T0 + at
    const from = { role, id: role === 'user' ? timeline.userId : (timeline.agentId as string) }
    const conversationId = timeline.conversationId
    await commands.send(from, { clientMsgId: `m${i}`, conversationId, content: text(`m${i}`) })
    sentAt.push(now)
  }

  await events.close()
  return { users, agents, conversations, timeline: { ...timeline, sentAt } }
}

/** Newest first; a tie in openedAt by conversationId, greatest first, compared as text. */
const newestFirst = (a: Summary, b: Summary): number =>
  b.openedAt - a.openedAt || (a.conversationId < b.conversationId ? 1 : -1)

async function get(server: TestServer, path: string, as?: Who) {
  const headers: Record<string, string> = {}
  if (as) headers.authorization = `Bearer ${server.token(as.role, as.id)}`
  const res = await fetch(`${server.httpUrl}${path}`, { headers })
  return { status: res.status, body: (await res.json()) as Body }
}

/** Follows `nextCursor` from `start` (default: the first page) to the last page. */
async function allPages<T>(
  server: TestServer,
  path: string,
  key: string,
  as: Who,
  start: string | null = null,
) {
  const pages: T[][] = []
  let cursor = start
  const sep = path.includes('?') ? '&' : '?'
  for (;;) {
    const url = cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`
    const { status, body } = await get(server, url, as)
    if (status !== 200) throw new Error(`${url}: ${status} ${JSON.stringify(body)}`)
    pages.push(body[key] as T[])
    cursor = body.nextCursor as string | null
    if (cursor === null) return pages
    if (pages.length > 100) throw new Error(`${path}: more than 100 pages`)
  }
}

const ids = (list: unknown) => (list as Summary[]).map((c) => c.conversationId)

t.test('read-model endpoints over a seeded history', async (t) => {
  const dataDir = makeDataDir()
  const s = await seed(dataDir)
  const server = await startTestServer({ dataDir })
  t.teardown(async () => {
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  const admin: Who = { role: 'admin', id: uniqueId('admin') }
  const user = (i: number): Who => ({ role: 'user', id: s.users[i] })
  const agent = (i: number): Who => ({ role: 'agent', id: s.agents[i] })
  const expected = (keep: (c: Seeded['conversations'][number]) => boolean) =>
    s.conversations
      .filter(keep)
      .sort(newestFirst)
      .map((c) => c.conversationId)

  t.test('GET /v1/conversations', async (t) => {
    t.test('lists everything newest first for an admin, ties by conversationId', async (t) => {
      const { status, body } = await get(server, '/v1/conversations', admin)
      t.equal(status, 200)
      t.same(
        ids(body.conversations),
        expected(() => true),
      )
      t.equal(body.nextCursor, null, 'one page: no cursor')
    })

    t.test('pages through ties without a gap or a repeat, at every page size', async (t) => {
      const all = expected(() => true)
      for (let limit = 1; limit <= all.length + 1; limit++) {
        const pages = await allPages<Summary>(
          server,
          `/v1/conversations?limit=${limit}`,
          'conversations',
          admin,
        )
        t.same(
          pages.flat().map((c) => c.conversationId),
          all,
          `limit=${limit}`,
        )
        t.ok(
          pages.every((p) => p.length === limit || p === pages[pages.length - 1]),
          `only the last page of limit=${limit} is short`,
        )
        t.ok(pages[pages.length - 1].length > 0, `no empty last page at limit=${limit}`)
      }
    })

    t.test('filters by status, agent, user and opening time, alone and together', async (t) => {
      const cases: [string, (c: Seeded['conversations'][number]) => boolean][] = [
        ['status=queued', (c) => c.status === 'queued'],
        ['status=open', (c) => c.status === 'open'],
        ['status=closed', (c) => c.status === 'closed'],
        [`agentId=${s.agents[0]}`, (c) => c.agentId === s.agents[0]],
        [`userId=${s.users[0]}`, (c) => c.userId === s.users[0]],
        [`openedFrom=${T0 + 1000}`, (c) => c.openedAt >= T0 + 1000],
        [`openedTo=${T0 + 1000}`, (c) => c.openedAt < T0 + 1000],
        [
          `openedFrom=${T0 + 1000}&openedTo=${T0 + 3000}`,
          (c) => c.openedAt >= T0 + 1000 && c.openedAt < T0 + 3000,
        ],
        [
          `agentId=${s.agents[0]}&status=open`,
          (c) => c.agentId === s.agents[0] && c.status === 'open',
        ],
        [
          `userId=${s.users[0]}&agentId=${s.agents[1]}`,
          (c) => c.userId === s.users[0] && c.agentId === s.agents[1],
        ],
        [`status=queued&openedFrom=${T0 + 1}`, (c) => c.status === 'queued' && c.openedAt > T0],
        [`openedFrom=${T0 + 5000}`, () => false],
      ]
      for (const [query, keep] of cases) {
        const pages = await allPages<Summary>(
          server,
          `/v1/conversations?${query}&limit=2`,
          'conversations',
          admin,
        )
        t.same(
          pages.flat().map((c) => c.conversationId),
          expected(keep),
          query,
        )
      }
    })

    t.test('shows users their own and agents theirs, narrowed by the same filters', async (t) => {
      const list = async (who: Who, query = '') =>
        ids((await get(server, `/v1/conversations${query}`, who)).body.conversations)
      t.same(
        await list(user(0)),
        expected((c) => c.userId === s.users[0]),
        'a user',
      )
      t.same(
        await list(user(0), `?agentId=${s.agents[0]}`),
        expected((c) => c.userId === s.users[0] && c.agentId === s.agents[0]),
        'a user, by agent',
      )
      t.same(
        await list(user(0), `?userId=${s.users[0]}&status=closed`),
        expected((c) => c.userId === s.users[0] && c.status === 'closed'),
        'naming themselves',
      )
      t.same(
        await list(agent(0)),
        expected((c) => c.agentId === s.agents[0]),
        'an agent, closed ones included',
      )
      t.same(
        await list(agent(0), `?userId=${s.users[0]}`),
        expected((c) => c.agentId === s.agents[0] && c.userId === s.users[0]),
        'an agent, by user',
      )
      t.same(
        await list(user(2)),
        [s.conversations[2].conversationId],
        'a waiting user sees their queued conversation',
      )
    })

    t.test('refuses a user or agent who names someone else with 403', async (t) => {
      const forbidden = { status: 403, body: { code: 'forbidden' } }
      t.match(await get(server, `/v1/conversations?userId=${s.users[1]}`, user(0)), forbidden)
      t.match(await get(server, `/v1/conversations?agentId=${s.agents[1]}`, agent(0)), forbidden)
    })

    t.test('refuses bad parameters with 400 and a missing token with 401', async (t) => {
      const badRequest = { status: 400, body: { code: 'bad_request', message: String } }
      const presenceCursor = Buffer.from(JSON.stringify(['r', 'user', 'x'])).toString('base64url')
      for (const query of [
        'limit=0',
        'limit=501',
        'limit=two',
        'status=waiting',
        'openedFrom=-1',
        'openedFrom=yesterday',
        `openedFrom=${T0}&openedTo=${T0}`,
        'cursor=not-a-cursor',
        `cursor=${presenceCursor}`,
        `agentId=${'x'.repeat(129)}`,
      ]) {
        t.match(await get(server, `/v1/conversations?${query}`, admin), badRequest, query)
      }
      t.match(await get(server, '/v1/conversations'), {
        status: 401,
        body: { code: 'unauthorized' },
      })
    })

    t.test('a conversation opened between two pages shifts nothing on the next', async (t) => {
      const all = expected(() => true)
      const first = await get(server, '/v1/conversations?limit=4', admin)
      const { conversationId } = await server.parley.services.conversations.currentConversationOf(
        uniqueId('user'),
      )
      const rest = await allPages<Summary>(
        server,
        '/v1/conversations?limit=4',
        'conversations',
        admin,
        first.body.nextCursor as string,
      )

      t.same([...ids(first.body.conversations), ...rest.flat().map((c) => c.conversationId)], all)
      t.same(
        ids((await get(server, '/v1/conversations?limit=1', admin)).body.conversations),
        [conversationId],
        'the new one tops a fresh first page',
      )
    })
  })

  t.test('GET /v1/conversations/:id/messages', async (t) => {
    const { conversationId, sentAt } = s.timeline
    const path = `/v1/conversations/${conversationId}/messages`
    const seqs = async (query: string, who: Who = user(1)) => {
      const { status, body } = await get(server, `${path}?${query}`, who)
      t.equal(status, 200, query)
      return (body.messages as Entry[]).map((m) => m.seq)
    }
    /** The seqs whose time is in [from, to), in seq order. */
    const within = (from = -Infinity, to = Infinity) =>
      sentAt.flatMap((at, i) => (at >= from && at < to ? [i + 1] : []))

    t.test('keeps the entries sent in [sentFrom, sentTo), in seq order', async (t) => {
      t.same(await seqs(''), within(), 'no window: everything')
      t.same(await seqs(`sentFrom=${T0 + 15}`), within(T0 + 15), 'from only')
      t.same(await seqs(`sentTo=${T0 + 20}`), within(undefined, T0 + 20), 'to only')
      t.same(await seqs(`sentFrom=${T0 + 15}&sentTo=${T0 + 30}`), [3, 4], 'the step back inside')
      t.same(
        await seqs(`sentFrom=${T0 + 12}&sentTo=${T0 + 18}`),
        [4],
        'only the stepped-back entry',
      )
      t.same(await seqs(`sentFrom=${T0 + 60}`), [], 'after the last')
      t.same(await seqs(`sentTo=${T0}`), [], 'before the first')
      t.same(await seqs(`sentFrom=${T0 + 15}&sentTo=${T0 + 30}`, admin), [3, 4], 'an admin too')
    })

    t.test('pages a window with afterSeq and limit', async (t) => {
      const window = `sentFrom=${T0 + 10}&sentTo=${T0 + 50}`
      const paged: number[] = []
      let afterSeq = 0
      for (;;) {
        const page = await seqs(`${window}&afterSeq=${afterSeq}&limit=2`)
        paged.push(...page)
        if (page.length < 2) break
        afterSeq = page[page.length - 1]
      }
      t.same(paged, within(T0 + 10, T0 + 50))
      t.same(await seqs(`${window}&afterSeq=3&limit=2`), [4, 5])
    })

    t.test('refuses an empty window with 400 and keeps the visibility rules', async (t) => {
      t.match(await get(server, `${path}?sentFrom=${T0 + 5}&sentTo=${T0 + 5}`, user(1)), {
        status: 400,
        body: { code: 'bad_request' },
      })
      t.match(await get(server, `${path}?sentFrom=-5`, user(1)), {
        status: 400,
        body: { code: 'bad_request' },
      })
      t.match(await get(server, `${path}?sentFrom=${T0}`, user(2)), {
        status: 403,
        body: { code: 'forbidden' },
      })
      t.match(await get(server, `${path}?sentFrom=${T0}`, agent(1)), {
        status: 403,
        body: { code: 'forbidden' },
      })
      t.match(await get(server, `/v1/conversations/4242/messages?sentFrom=${T0}`, admin), {
        status: 404,
        body: { code: 'not_found' },
      })
      t.match(await get(server, `${path}?sentFrom=${T0}`), {
        status: 401,
        body: { code: 'unauthorized' },
      })
    })
  })

  t.test('GET /v1/pending/:role/:id', async (t) => {
    const pending = async (of: Who, as: Who, query = '') => {
      const { status, body } = await get(server, `/v1/pending/${of.role}/${of.id}${query}`, as)
      t.equal(status, 200, `${of.id}${query}`)
      return body
    }
    const byConversationThenSeq = (rows: PendingRow[]) =>
      [...rows].sort((a, b) =>
        a.conversationId < b.conversationId
          ? -1
          : a.conversationId > b.conversationId
            ? 1
            : a.seq - b.seq,
      )

    t.test('lists what a user has not acknowledged: every notice and agent message', async (t) => {
      const rows = (await pending(user(0), user(0))).pending as PendingRow[]
      const theirs = s.conversations.filter((c) => c.userId === s.users[0])
      const owed: [string, number][] = []
      for (const c of theirs) {
        const timeline = (
          await get(server, `/v1/conversations/${c.conversationId}/messages`, admin)
        ).body.messages as Entry[]
        for (const entry of timeline)
          if (entry.from.role !== 'user') owed.push([c.conversationId, entry.seq])
      }
      t.same(
        rows.map((r) => [r.conversationId, r.seq]),
        byConversationThenSeq(
          owed.map(([conversationId, seq]) => ({ conversationId, seq }) as PendingRow),
        ).map((r) => [r.conversationId, r.seq]),
      )
      t.match(rows[0], {
        messageId: String,
        pushes: 0,
        lastPushAt: null,
        nextDueAt: null,
        abandoned: false,
      })
      t.notOk('recipient' in rows[0] || 'recipientKey' in rows[0], 'no bookkeeping fields')
    })

    t.test('pages across conversations without a gap or a repeat', async (t) => {
      for (const who of [user(0), user(1), agent(0), agent(1)]) {
        const whole = (await pending(who, admin, '?limit=500')).pending as PendingRow[]
        t.ok(whole.length > 0, `${who.role} has pending rows`)
        t.same(whole, byConversationThenSeq(whole), 'by conversation, then seq')
        for (const limit of [1, 2, 3]) {
          const pages = await allPages<PendingRow>(
            server,
            `/v1/pending/${who.role}/${who.id}?limit=${limit}`,
            'pending',
            who,
          )
          t.same(pages.flat(), whole, `${who.role}, limit=${limit}`)
        }
      }
    })

    t.test('answers an empty list for someone who owes nothing', async (t) => {
      t.same(await pending({ role: 'user', id: uniqueId('nobody') }, admin), {
        pending: [],
        nextCursor: null,
      })
    })

    t.test('refuses everyone but the recipient and admins', async (t) => {
      const forbidden = { status: 403, body: { code: 'forbidden' } }
      t.match(
        await get(server, `/v1/pending/user/${s.users[0]}`, user(1)),
        forbidden,
        'another user',
      )
      t.match(
        await get(server, `/v1/pending/user/${s.users[0]}`, agent(0)),
        forbidden,
        "the user's agent",
      )
      t.match(
        await get(server, `/v1/pending/agent/${s.users[0]}`, user(0)),
        forbidden,
        'same id, other role',
      )
      t.match(await get(server, `/v1/pending/user/${s.users[0]}`), {
        status: 401,
        body: { code: 'unauthorized' },
      })
      t.match(await get(server, `/v1/pending/robot/${s.users[0]}`, admin), {
        status: 400,
        body: { code: 'bad_request' },
      })
      t.match(await get(server, `/v1/pending/user/${s.users[0]}?limit=0`, user(0)), {
        status: 400,
        body: { code: 'bad_request' },
      })
      const conversationsCursor = Buffer.from(JSON.stringify(['c', T0, '1'])).toString('base64url')
      t.match(
        await get(server, `/v1/pending/user/${s.users[0]}?cursor=${conversationsCursor}`, user(0)),
        { status: 400, body: { code: 'bad_request' } },
      )
    })
  })
})
