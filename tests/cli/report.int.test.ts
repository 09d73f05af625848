import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { REPORT_CSV_FILES } from '../../src/cli/commands/report-csv'
import { REPORT_DATA_ELEMENT_ID } from '../../src/cli/commands/report-html'
import { EXIT_FAILURE } from '../../src/cli/main'
import type { Participant } from '../../src/domain/shared/participant'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import type { AnalyticsReport } from '../../src/projections/analytics/index'
import { SEED_EVENTS_FILE, seedLog } from '../support/seed-log'
import { parley } from './replay-harness'

// A tiny log, appended through the real store, whose every number is worked out by hand.
const DAY1 = Date.UTC(2025, 0, 6, 9)
const DAY2 = Date.UTC(2025, 0, 7, 9)
const u1: Participant = { role: 'user', id: 'u1' }
const u2: Participant = { role: 'user', id: 'u2' }
const a1: Participant = { role: 'agent', id: 'a1' }
const a2: Participant = { role: 'agent', id: 'a2' }

type Step = [conversation: string, type: string, data: Record<string, unknown>]
const text = { format: 'text', text: 'hello' }
const sent = (
  c: string,
  id: string,
  from: Participant,
  at: number,
  content: object = text,
): Step => [
  c,
  'MessageSent',
  { conversationId: c, messageId: id, seq: 0, clientMsgId: id, from, content, sentAt: at },
]
const pushed = (c: string, id: string, to: Participant, attempt: number, at: number): Step => [
  c,
  'MessagePushed',
  {
    conversationId: c,
    messageId: id,
    seq: 0,
    recipient: to,
    attempt,
    pushedAt: at,
    nextDueAt: at + 5000,
  },
]
const acked = (c: string, id: string, by: Participant, at: number): Step => [
  c,
  'MessageAcknowledged',
  { conversationId: c, messageId: id, recipient: by, at },
]
const assigned = (c: string, agentId: string, at: number): Step => [
  c,
  'ConversationAssigned',
  { conversationId: c, agentId, messageId: `${c}-a`, seq: 0, at },
]
const closed = (c: string, agentId: string, at: number): Step => [
  c,
  'ConversationClosed',
  {
    conversationId: c,
    reason: 'agent_closed',
    closedBy: { role: 'agent', id: agentId },
    agentId,
    messageId: `${c}-z`,
    seq: 0,
    at,
  },
]

const STEPS: Step[] = [
  ['c1', 'ConversationOpened', { conversationId: 'c1', userId: 'u1', openedAt: DAY1 }],
  sent('c1', 'm1', u1, DAY1 + 1000),
  assigned('c1', 'a1', DAY1 + 5000),
  pushed('c1', 'm1', a1, 1, DAY1 + 5100),
  acked('c1', 'm1', a1, DAY1 + 5600), // 500 ms
  sent('c1', 'm2', a1, DAY1 + 8000), // first response 3 s after the assignment
  pushed('c1', 'm2', u1, 1, DAY1 + 8100),
  pushed('c1', 'm2', u1, 2, DAY1 + 13_100),
  acked('c1', 'm2', u1, DAY1 + 14_100), // 6 s, 2 pushes
  sent('c1', 'm3', u1, DAY1 + 20_000, { format: 'image', url: 'https://img.test/1.png' }),
  pushed('c1', 'm3', a1, 1, DAY1 + 20_100),
  pushed('c1', 'm3', a1, 2, DAY1 + 25_100),
  pushed('c1', 'm3', a1, 3, DAY1 + 35_100),
  [
    'c1',
    'PushAbandoned',
    { conversationId: 'c1', messageId: 'm3', recipient: a1, attempts: 3, at: DAY1 + 55_100 },
  ],
  closed('c1', 'a1', DAY1 + 65_000), // 60 s after the assignment

  ['c2', 'ConversationOpened', { conversationId: 'c2', userId: 'u2', openedAt: DAY2 }],
  sent('c2', 'q', u2, DAY2 + 1000),
  assigned('c2', 'a2', DAY2 + 31_000),
  pushed('c2', 'q', a2, 1, DAY2 + 31_100),
  acked('c2', 'q', a2, DAY2 + 31_300), // 200 ms
  sent('c2', 'r', a2, DAY2 + 40_000), // first response 9 s after the assignment
  pushed('c2', 'r', u2, 1, DAY2 + 40_100), // never acknowledged
  closed('c2', 'a2', DAY2 + 151_000), // 120 s after the assignment
]

const dataDir = t.testdir()
t.before(async () => {
  const store = createSqliteEventStore({ path: join(dataDir, SEED_EVENTS_FILE) })
  for (const [conversation, type, data] of STEPS) {
    await store.appendToStream(`conversation-${conversation}`, [{ type, data }])
    // Another category, which the report does not read.
    await store.appendToStream('presence-user-u1', [{ type: 'HeartbeatRecorded', data: { at: 1 } }])
  }
  await store.close()
})

const report = (args: string[]) => parley(['report', ...args], { dataDir })

t.test('prints the worked numbers as tables', async (t) => {
  const result = await report([])

  t.equal(result.code, 0)
  t.equal(result.err, '')
  const out = result.out
  t.match(out, `Parley report: ${STEPS.length} conversation events`)
  t.match(out, 'Conversations: 2 opened, 2 closed (agent_closed 2)')
  t.match(out, /a1 +1 +1 +0 +3\.0 s +3\.0 s +1 +1\.0 min +1\.0 min/)
  t.match(out, /a2 +1 +1 +0 +9\.0 s +9\.0 s +1 +2\.0 min +2\.0 min/)
  t.match(out, /2025-01-06 +1 +1\n +2025-01-07 +1 +1/)
  t.match(out, /text +2 +2 +4\n +image +1 +0 +1/)
  t.match(out, 'mean 1.60')
  t.match(out, /1 +3 +60\.0%\n +2 +1 +20\.0%\n +3 +1 +20\.0%/)
  t.match(out, /3 +2\.2 s +500 ms +6\.0 s +6\.0 s +6\.0 s/)
  t.match(out, /agent +3 +1 +33\.3% +1 +0\n +user +2 +1 +50\.0% +0 +1/)
})

t.test('writes every table as a CSV file', async (t) => {
  const dir = join(t.testdir(), 'csv')

  const result = await report(['--csv', dir])

  t.equal(result.code, 0)
  t.equal(result.out, '')
  t.match(result.err, `wrote 7 CSV files to ${dir}`)
  t.strictSame(readdirSync(dir).sort(), Object.values(REPORT_CSV_FILES).sort())
  const csv = (name: string) => readFileSync(join(dir, name), 'utf8')
  t.equal(
    csv(REPORT_CSV_FILES.agents),
    'agentId,assignments,unanswered,firstResponseCount,firstResponseMeanMs,firstResponseP50Ms,' +
      'firstResponseP90Ms,firstResponseP99Ms,firstResponseMaxMs,timeToCloseCount,' +
      'timeToCloseMeanMs,timeToCloseP50Ms,timeToCloseP90Ms,timeToCloseP99Ms,timeToCloseMaxMs\n' +
      'a1,1,0,1,3000,3000,3000,3000,3000,1,60000,60000,60000,60000,60000\n' +
      'a2,1,0,1,9000,9000,9000,9000,9000,1,120000,120000,120000,120000,120000\n',
  )
  t.equal(csv(REPORT_CSV_FILES.pushes), 'pushes,deliveries\n1,3\n2,1\n3,1\n')
  t.equal(
    csv(REPORT_CSV_FILES.ackLatency),
    'ackLatencyCount,ackLatencyMeanMs,ackLatencyP50Ms,ackLatencyP90Ms,ackLatencyP99Ms,' +
      'ackLatencyMaxMs,ackedWithoutPush\n3,2233.3,500,6000,6000,6000,0\n',
  )
  t.equal(
    csv(REPORT_CSV_FILES.unacknowledged),
    'recipientRole,deliveries,unacknowledged,abandoned,pending\nagent,3,1,1,0\nuser,2,1,0,1\n',
  )
})

t.test('writes one self-contained HTML page holding the data', async (t) => {
  const file = join(t.testdir(), 'report.html')

  const result = await report(['--html', file])

  const html = readFileSync(file, 'utf8')
  t.equal(result.code, 0)
  t.notMatch(html, /\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i, 'nothing to fetch')
  t.notMatch(html, /<link\b/i)
  t.match(html, /<script>\/\*!\n \* Chart\.js v4/, 'the chart library is inline')
  t.equal(html.match(/<canvas /g)?.length, 7)
  const data = new RegExp(
    `<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">(.*?)</script>`,
    's',
  ).exec(html)
  const { report: inline } = JSON.parse(data![1]) as { report: AnalyticsReport }
  t.match(inline.agents, [
    { agentId: 'a1', firstResponse: { p50: 3000 }, timeToClose: { p50: 60_000 } },
    { agentId: 'a2', firstResponse: { p50: 9000 }, timeToClose: { p50: 120_000 } },
  ])
  t.equal(inline.delivery.deliveries, 5)
  t.match(html, 'a1 ', 'the tables are there as text too')
})

t.test('reports on a window of the log only', async (t) => {
  // Each step is followed by a heartbeat: step n sits at position 2n - 1.
  const c2Opened = STEPS.findIndex(([c]) => c === 'c2')

  const result = await report(['--from', String(2 * c2Opened)])

  t.match(result.out, 'Conversations: 1 opened, 1 closed')
  t.notMatch(result.out, /^ +a1 /m)
})

t.test('adds up on a seeded log', async (t) => {
  const dir = t.testdir()
  const { path } = seedLog({ dir, events: 20_000, seed: 3 })
  const file = join(dir, 'report.html')

  const result = await parley(['report', '--html', file], { dataDir: dir })

  const html = readFileSync(file, 'utf8')
  const data = new RegExp(`id="${REPORT_DATA_ELEMENT_ID}">(.*?)</script>`, 's').exec(html)
  const inline = (JSON.parse(data![1]) as { report: AnalyticsReport }).report
  const db = new Database(path, { readonly: true })
  const count = (where: string) =>
    (db.prepare(`SELECT COUNT(*) AS n FROM events WHERE ${where}`).get() as { n: number }).n
  t.equal(result.code, 0)
  t.equal(inline.events, count(`category = 'conversation'`))
  t.equal(inline.conversations.opened, count(`type = 'ConversationOpened'`))
  t.equal(inline.conversations.closed, count(`type = 'ConversationClosed'`))
  t.equal(
    inline.formats.reduce((sum, f) => sum + f.total, 0),
    count(`type = 'MessageSent'`),
  )
  t.equal(
    inline.agents.reduce((sum, a) => sum + a.assignments, 0),
    count(`type = 'ConversationAssigned'`),
  )
  const abandoned = inline.delivery.unacknowledged.reduce((sum, u) => sum + u.abandoned, 0)
  t.ok(abandoned > 0 && abandoned <= count(`type = 'PushAbandoned'`))
  db.close()
})

t.test('writes nothing when stopped by Ctrl-C', async (t) => {
  const dir = join(t.testdir(), 'csv')

  const result = await parley(['report', '--csv', dir], { dataDir, signal: AbortSignal.abort() })

  t.equal(result.code, EXIT_FAILURE)
  t.match(result.err, 'parley: report interrupted: nothing was written')
  t.notOk(existsSync(dir))
})

t.test('fails on a missing log and writes nothing', async (t) => {
  const empty = t.testdir()

  const result = await parley(['report', '--csv', join(empty, 'out')], { dataDir: empty })

  t.equal(result.code, EXIT_FAILURE)
  t.match(result.err, 'no event log at')
  t.strictSame(readdirSync(empty), [])
})
