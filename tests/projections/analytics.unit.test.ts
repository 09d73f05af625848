import t from 'tap'
import type { Content } from '../../src/domain/content/schema'
import type { ConversationEvent } from '../../src/domain/conversation/events'
import type { Participant } from '../../src/domain/shared/participant'
import {
  analyzeEvents,
  distributionOf,
  evolveAnalytics,
  initialAnalyticsState,
  percentile,
} from '../../src/projections/analytics/index'

// A tiny hand-built log whose every number is worked out below.
const DAY1 = Date.UTC(2025, 0, 6, 9)
const DAY2 = Date.UTC(2025, 0, 7, 9)
const u = (id: string): Participant => ({ role: 'user', id })
const a = (id: string): Participant => ({ role: 'agent', id })
const text: Content = { format: 'text', text: 'hi' }

const opened = (c: string, at: number): ConversationEvent => ({
  type: 'ConversationOpened',
  data: { conversationId: c, userId: `u-${c}`, openedAt: at },
})
const assigned = (c: string, agentId: string, at: number): ConversationEvent => ({
  type: 'ConversationAssigned',
  data: { conversationId: c, agentId, messageId: `${c}-assigned-${at}`, seq: 0, at },
})
const requeued = (c: string, agentId: string, at: number): ConversationEvent => ({
  type: 'ConversationRequeued',
  data: { conversationId: c, previousAgentId: agentId, messageId: `${c}-rq`, seq: 0, at },
})
const sent = (
  c: string,
  id: string,
  from: Participant,
  at: number,
  content: Content = text,
): ConversationEvent => ({
  type: 'MessageSent',
  data: { conversationId: c, messageId: id, seq: 0, clientMsgId: id, from, content, sentAt: at },
})
const pushed = (id: string, to: Participant, attempt: number, at: number): ConversationEvent => ({
  type: 'MessagePushed',
  data: {
    conversationId: 'any',
    messageId: id,
    seq: 0,
    recipient: to,
    attempt,
    pushedAt: at,
    nextDueAt: at + 5000,
  },
})
const acked = (id: string, by: Participant, at: number): ConversationEvent => ({
  type: 'MessageAcknowledged',
  data: { conversationId: 'any', messageId: id, recipient: by, at },
})
const abandoned = (id: string, to: Participant, at: number): ConversationEvent => ({
  type: 'PushAbandoned',
  data: { conversationId: 'any', messageId: id, recipient: to, attempts: 3, at },
})
const closed = (
  c: string,
  agentId: string | null,
  at: number,
  reason: 'agent_closed' | 'user_left' = 'agent_closed',
): ConversationEvent => ({
  type: 'ConversationClosed',
  data: {
    conversationId: c,
    reason,
    closedBy: agentId === null ? null : a(agentId),
    agentId,
    messageId: `${c}-closed`,
    seq: 0,
    at,
  },
})

const LOG: ConversationEvent[] = [
  // c1: the user writes while queued; a1 answers 3 s after the assignment, closes after 60 s.
  opened('c1', DAY1),
  sent('c1', 'm1', u('c1'), DAY1 + 1000),
  assigned('c1', 'a1', DAY1 + 5000),
  pushed('c1-assigned-' + (DAY1 + 5000), u('c1'), 1, DAY1 + 5050), // a notice: not a message
  pushed('m1', a('a1'), 1, DAY1 + 5100),
  acked('m1', a('a1'), DAY1 + 5600), // 500 ms
  sent('c1', 'm2', a('a1'), DAY1 + 8000, { format: 'order_card', orderId: 'o1', title: 'Pot' }),
  pushed('m2', u('c1'), 1, DAY1 + 8100),
  sent('c1', 'm3', u('c1'), DAY1 + 10_000, { format: 'image', url: 'https://x.test/p.jpg' }),
  pushed('m3', a('a1'), 1, DAY1 + 10_050),
  sent('c1', 'm4', a('a1'), DAY1 + 12_000, { format: 'coupon', couponId: 'k', title: '10%' }),
  pushed('m4', u('c1'), 1, DAY1 + 12_100), // never acknowledged, never given up
  pushed('m2', u('c1'), 2, DAY1 + 13_100),
  acked('m2', u('c1'), DAY1 + 14_100), // 6000 ms after the first push, 2 pushes
  pushed('m3', a('a1'), 2, DAY1 + 15_050),
  pushed('m3', a('a1'), 3, DAY1 + 25_050),
  abandoned('m3', a('a1'), DAY1 + 45_050), // 3 pushes, given up
  closed('c1', 'a1', DAY1 + 65_000),

  // c2: a1 greets before the user asks; the first response runs from the user's question.
  opened('c2', DAY2),
  assigned('c2', 'a1', DAY2 + 1000),
  sent('c2', 'g', a('a1'), DAY2 + 2000),
  pushed('g', u('c2'), 1, DAY2 + 2100),
  acked('g', u('c2'), DAY2 + 2300), // 200 ms
  sent('c2', 'q', u('c2'), DAY2 + 4000, { format: 'video', url: 'https://x.test/v.mp4' }),
  pushed('q', a('a1'), 1, DAY2 + 4100),
  acked('q', a('a1'), DAY2 + 4400), // 300 ms
  sent('c2', 'r', a('a1'), DAY2 + 7000), // 3000 ms after the question; never pushed

  // c3: a2 leaves without answering; a1 takes over and answers 4 s after the reassignment.
  opened('c3', DAY2 + 10_000),
  sent('c3', 'x', u('c3'), DAY2 + 10_500),
  assigned('c3', 'a2', DAY2 + 11_000),
  requeued('c3', 'a2', DAY2 + 20_000),
  assigned('c3', 'a1', DAY2 + 30_000),
  sent('c3', 'y', a('a1'), DAY2 + 34_000),
  closed('c3', 'a1', DAY2 + 90_000), // 60 s after a1's assignment

  // c4: the user leaves while waiting for an agent.
  opened('c4', DAY2 + 40_000),
  closed('c4', null, DAY2 + 200_000, 'user_left'),
]

t.test('takes nearest-rank percentiles over every value', async (t) => {
  t.equal(percentile([10, 20, 30, 40], 50), 20)
  t.equal(percentile([10, 20, 30, 40], 90), 40)
  t.equal(percentile([7], 99), 7)
  t.equal(percentile([], 50), undefined)
  t.strictSame(distributionOf([300, 100, 200]), {
    count: 3,
    mean: 200,
    p50: 200,
    p90: 300,
    p99: 300,
    max: 300,
  })
  t.strictSame(distributionOf([]).p50, null)
})

t.test('measures first response from the message owed an answer, per agent', async (t) => {
  const report = analyzeEvents(LOG)

  const a1 = report.agents.find((row) => row.agentId === 'a1')
  const a2 = report.agents.find((row) => row.agentId === 'a2')
  t.match(a1, {
    assignments: 3,
    unanswered: 0,
    firstResponse: { count: 3, p50: 3000, p90: 4000, max: 4000 },
  })
  t.match(a2, { assignments: 1, unanswered: 1, firstResponse: { count: 0, p50: null } })
  t.strictSame(
    report.agents.map((row) => row.agentId),
    ['a1', 'a2'],
  )
})

t.test('measures time to close from the closing agent’s assignment', async (t) => {
  const report = analyzeEvents(LOG)

  const a1 = report.agents.find((row) => row.agentId === 'a1')
  t.match(a1?.timeToClose, { count: 2, p50: 60_000, p90: 60_000, mean: 60_000 })
  t.match(report.agents.find((row) => row.agentId === 'a2')?.timeToClose, { count: 0 })
})

t.test('counts conversations per UTC day and closes by reason', async (t) => {
  const report = analyzeEvents(LOG)

  t.strictSame(report.days, [
    { day: '2025-01-06', opened: 1, closed: 1 },
    { day: '2025-01-07', opened: 3, closed: 2 },
  ])
  t.strictSame(report.conversations, {
    opened: 4,
    closed: 3,
    closedByReason: { agent_closed: 2, user_left: 1 },
  })
})

t.test('counts messages per format and sender, most used first', async (t) => {
  const report = analyzeEvents(LOG)

  t.strictSame(report.formats, [
    { format: 'text', user: 2, agent: 3, total: 5 },
    { format: 'coupon', user: 0, agent: 1, total: 1 },
    { format: 'image', user: 1, agent: 0, total: 1 },
    { format: 'order_card', user: 0, agent: 1, total: 1 },
    { format: 'video', user: 1, agent: 0, total: 1 },
  ])
})

t.test('reports pushes per message, ack latency and what was never acknowledged', async (t) => {
  const { delivery } = analyzeEvents(LOG)

  t.equal(delivery.deliveries, 6, 'm1 m2 m3 m4 g q: notices are left out')
  t.equal(delivery.pushes, 9)
  t.strictSame(delivery.pushesPerMessage, {
    mean: 1.5,
    histogram: [
      { pushes: 1, deliveries: 4 },
      { pushes: 2, deliveries: 1 },
      { pushes: 3, deliveries: 1 },
    ],
  })
  t.strictSame(delivery.ackLatency, {
    count: 4,
    mean: 1750,
    p50: 300,
    p90: 6000,
    p99: 6000,
    max: 6000,
  })
  t.strictSame(delivery.unacknowledged, [
    { recipientRole: 'agent', deliveries: 3, unacknowledged: 1, abandoned: 1, pending: 0 },
    { recipientRole: 'user', deliveries: 3, unacknowledged: 1, abandoned: 0, pending: 1 },
  ])
  t.strictSame(delivery.neverPushed, [
    { senderRole: 'agent', messages: 2 },
    { senderRole: 'user', messages: 1 },
  ])
  t.equal(delivery.ackedWithoutPush, 0)
})

t.test('reads a window that starts halfway through a conversation', async (t) => {
  const tail = LOG.slice(LOG.indexOf(LOG.find((e) => e.type === 'MessagePushed')!))

  const report = analyzeEvents([...tail, { type: 'SomethingNew', data: { x: 1 } }])

  t.equal(report.events, tail.length + 1)
  t.equal(report.conversations.opened, 3)
  t.equal(report.delivery.deliveries, 5, 'm1 was sent before the window: its push is left out')
})

t.test('folds one event at a time into the same state', async (t) => {
  let state = initialAnalyticsState()
  for (const event of LOG) state = evolveAnalytics(state, event)

  t.equal(state.events, LOG.length)
  t.strictSame([...state.conversations.keys()], ['c2'], 'closed conversations are dropped')
})
