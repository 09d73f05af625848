import t from 'tap'
import { ClientError, type ChatItem, type ParleyClient } from '../../src/client'
import { buildContent, parseCents } from '../../src/console/compose'
import { readDesk } from '../../src/console/desk'
import { DESK_MEMORY_LIMIT, DeskMemory, type DeskStorage } from '../../src/console/desk-memory'
import { noticeText } from '../../src/console/notices'
import { Timeline, unreadCount } from '../../src/console/timeline'
import { readClaims, tokenProblem } from '../../src/console/token'
import { testToken } from '../support/server'

const message = (seq: number, own = false, conversationId = 'c1'): ChatItem => ({
  kind: 'message',
  messageId: `${conversationId}-m${seq}`,
  conversationId,
  seq,
  sentAt: 1000 + seq,
  from: own ? { role: 'agent', id: 'a1' } : { role: 'user', id: 'u1' },
  content: { format: 'text', text: `#${seq}` },
  own,
})
const notice = (seq: number, event: string, extra: Partial<ChatItem> = {}): ChatItem => ({
  kind: 'system',
  messageId: `c1-n${seq}`,
  conversationId: 'c1',
  seq,
  sentAt: 1000 + seq,
  event: event as ChatItem['event'],
  own: false,
  ...extra,
})

t.test(
  'the timeline holds each item once, in seq order, whatever order it arrives in',
  async (t) => {
    const timeline = new Timeline()
    t.equal(timeline.add(message(3)), true)
    t.equal(timeline.add(message(1)), true)
    t.equal(timeline.add(message(3)), false, 'a repeat is refused')
    t.equal(timeline.add(notice(2, 'assigned')), true)
    t.same(
      timeline.items('c1').map((i) => i.seq),
      [1, 2, 3],
    )
    t.equal(timeline.isClosed('c1'), false)
    timeline.add(notice(4, 'closed', { reason: 'agent_closed' }))
    t.equal(timeline.isClosed('c1'), true)
    t.same(timeline.items('nope'), [])
  },
)

t.test('counts as unread what the other side wrote after the last answer or view', async (t) => {
  const items = [
    message(1),
    message(2),
    message(3, true),
    message(4),
    notice(5, 'assigned'),
    message(6),
  ]
  t.equal(unreadCount(items), 2, 'after the own message at seq 3')
  t.equal(unreadCount(items, 4), 1, 'after what was on screen up to seq 4')
  t.equal(unreadCount([message(1), message(2)]), 2, 'never answered: all of it')
  t.equal(unreadCount([]), 0)
})

t.test('builds content in every format from the composer fields', async (t) => {
  t.same(buildContent('text', { text: 'hi' }), { content: { format: 'text', text: 'hi' } })
  t.same(buildContent('image', { url: ' https://x.test/a.png ', width: '800', text: '' }), {
    content: { format: 'image', url: 'https://x.test/a.png', width: 800 },
  })
  t.same(buildContent('video', { url: 'https://x.test/v.mp4', durationSec: '12.5' }), {
    content: { format: 'video', url: 'https://x.test/v.mp4', durationSec: 12.5 },
  })
  t.same(
    buildContent('order_card', {
      orderId: 'SO-1',
      title: 'Kettle',
      price: '34,9',
      currency: 'eur',
    }),
    {
      content: {
        format: 'order_card',
        orderId: 'SO-1',
        title: 'Kettle',
        priceCents: 3490,
        currency: 'EUR',
      },
    },
  )
  t.same(
    buildContent('coupon', {
      couponId: 'C10',
      title: '10 off',
      price: '10',
      expiresAt: '2026-12-31T23:59:59Z',
    }),
    {
      content: {
        format: 'coupon',
        couponId: 'C10',
        title: '10 off',
        amountCents: 1000,
        expiresAt: '2026-12-31T23:59:59Z',
      },
    },
  )
  t.same(buildContent('text', { text: '   ' }), { problem: 'Message is required' })
  t.same(buildContent('order_card', { orderId: 'SO-1' }), { problem: 'Title is required' })
  t.same(buildContent('image', { url: 'https://x.test', width: 'wide' }), {
    problem: 'Width (px) must be a number',
  })
  t.same(buildContent('coupon', { couponId: 'C', title: 'T', price: '1.234' }), {
    problem: 'Amount must look like 34.99',
  })
  t.equal(parseCents('35'), 3500)
  t.equal(parseCents('0.05'), 5)
  t.ok(Number.isNaN(parseCents('-1')))
})

t.test('words every notice, and a generic line for unknown ones', async (t) => {
  t.equal(
    noticeText(notice(1, 'queued', { position: 3 }), 'user'),
    'Waiting for an agent: number 3 in the queue',
  )
  t.equal(
    noticeText(notice(1, 'assigned', { agentId: 'a1' }), 'user'),
    'Agent a1 joined the conversation',
  )
  t.equal(
    noticeText(notice(1, 'assigned', { agentId: 'a1' }), 'agent'),
    'Conversation assigned to you',
  )
  t.equal(
    noticeText(notice(1, 'agent_left'), 'user'),
    'The agent left; back at the head of the queue',
  )
  t.equal(
    noticeText(notice(1, 'closed', { reason: 'user_left' }), 'agent'),
    'Conversation closed: closed because the customer left',
  )
  t.equal(
    noticeText(notice(1, 'closed', { reason: 'admin_closed' }), 'user'),
    'Conversation closed: closed by an administrator',
  )
  t.equal(
    noticeText(notice(1, 'closed', { reason: 'moon_phase' }), 'user'),
    'Conversation closed: moon_phase',
  )
  t.equal(noticeText(notice(1, 'transferred'), 'user'), 'Notice: transferred')
})

t.test('reads a token and says when it does not fit the page', async (t) => {
  const agent = testToken('agent', 'a1', 3)
  t.match(readClaims(agent), { role: 'agent', sub: 'a1', seats: 3 })
  t.equal(tokenProblem(agent, 'agent'), null)
  t.match(tokenProblem(agent, 'user'), /needs a user token; this one has the role agent/)
  t.match(tokenProblem(testToken('user', 'u1'), 'agent'), /needs an agent token/)
  t.equal(
    tokenProblem('not-a-token', 'user'),
    'This is not a Parley token (a JWT made with npx parley token).',
  )
  t.equal(readClaims('a.!!!.c'), null)
  t.match(tokenProblem(agent, 'agent', Date.now() + 48 * 3600_000), /expired/)
})

/** A sessionStorage stand-in: a map, or one that refuses every call. */
function memoryStorage(): DeskStorage & { data: Map<string, string> } {
  const data = new Map<string, string>()
  return {
    data,
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
  }
}

t.test('the desk memory keeps the choice and what was read across a reload', async (t) => {
  const storage = memoryStorage()
  const before = new DeskMemory(storage, 'desk:a1')
  t.equal(before.selected(), null, 'nothing chosen on a first visit')
  t.equal(before.viewedSeq('c1'), undefined)
  before.select('c2')
  before.markViewed('c1', 4)
  before.markViewed('c1', 2)
  before.markViewed('c2', 7)

  const after = new DeskMemory(storage, 'desk:a1')
  t.equal(after.selected(), 'c2', 'the chosen conversation survives')
  t.equal(after.viewedSeq('c1'), 4, 'a viewed mark only moves forward')
  t.equal(after.viewedSeq('c2'), 7)
  t.equal(unreadCount([message(3), message(5), message(6)], after.viewedSeq('c1')), 2)
  t.equal(new DeskMemory(storage, 'desk:a2').selected(), null, 'another agent has their own')
})

t.test('the desk memory starts empty on unreadable data and keeps its newest marks', async (t) => {
  for (const raw of ['{', '{"v":2,"selected":null,"viewed":[]}', '{"v":1,"viewed":[["c1","x"]]}']) {
    const storage = memoryStorage()
    storage.data.set('k', raw)
    const memory = new DeskMemory(storage, 'k')
    t.same([memory.selected(), memory.viewedSeq('c1')], [null, undefined], raw)
  }

  const refusing: DeskStorage = {
    getItem: () => {
      throw new Error('SecurityError')
    },
    setItem: () => {
      throw new Error('QuotaExceededError')
    },
  }
  const memory = new DeskMemory(refusing, 'k')
  memory.select('c1')
  memory.markViewed('c1', 3)
  t.same([memory.selected(), memory.viewedSeq('c1')], ['c1', 3], 'works from memory alone')

  const storage = memoryStorage()
  const full = new DeskMemory(storage, 'k')
  for (let i = 0; i <= DESK_MEMORY_LIMIT; i++) full.markViewed(`c${i}`, 1)
  full.markViewed('c1', 2)
  const reloaded = new DeskMemory(storage, 'k')
  t.equal(reloaded.viewedSeq('c0'), undefined, 'the least recently viewed is dropped')
  t.equal(reloaded.viewedSeq('c1'), 2, 'viewing again makes a mark recent')
  t.equal(reloaded.viewedSeq(`c${DESK_MEMORY_LIMIT}`), 1)
})

/** A client whose `api()` answers each path from `answer` (a value, or an error to throw). */
function apiClient(answer: (path: string) => unknown): ParleyClient {
  return {
    api: async (path: string) => {
      const result = answer(path)
      if (result instanceof Error) throw result
      return result
    },
  } as unknown as ParleyClient
}

t.test(
  'a first visit shows the claimed seats and no error; a bad token is said once',
  async (t) => {
    const first = apiClient((path) =>
      path.startsWith('/v1/agents/')
        ? new ClientError('not_found', 'no such agent', { status: 404 })
        : path.startsWith('/v1/queue')
          ? { queue: [], nextCursor: null }
          : { conversations: [] },
    )
    t.match(await readDesk(first, 'a1', 3), {
      seats: { seats: 3, openConversations: 0 },
      problem: null,
    })
    t.match(await readDesk(first, 'a1'), { seats: null, problem: null }, 'no claim: seats unknown')

    const badToken = apiClient(
      () => new ClientError('unauthorized', 'bad token signature', { status: 401 }),
    )
    t.match(await readDesk(badToken, 'a1', 3), {
      seats: null,
      queue: null,
      problem: 'conversations, seats, queue: bad token signature',
    })
  },
)
