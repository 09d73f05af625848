import t, { type Test } from 'tap'
import { seedLog } from '../support/seed-log'
import {
  firstDifference,
  parley as run,
  parseLines,
  positionsOf,
  readStoredLines,
  type StoredLine,
} from './replay-harness'

// A seeded log of 20,000 events; each filter is checked against plain SQLite reads of it.
const dataDir = t.testdir()
const stored = readStoredLines(seedLog({ dir: dataDir, events: 20_000, seed: 7 }).path)
const parley = (args: string[]) => run(args, { dataDir })

/** Checks two long lists of positions, saying where they first differ. */
function samePositions(t: Test, actual: string[], want: string[], message = 'same events') {
  const at = firstDifference(actual, want)
  t.equal(at, -1, `${message}: ${actual.length} of ${want.length}, first difference at ${at}`)
}
const expected = (keep: (line: StoredLine) => boolean) =>
  stored.filter(keep).map((line) => line.position)

t.test('filters by category, repeatable or comma-separated', async (t) => {
  const conversation = await parley(['replay', '--category', 'conversation'])
  const rest = await parley(['replay', '--category', 'agent,customer', '--category', 'presence'])

  samePositions(
    t,
    positionsOf(conversation.out),
    expected((e) => e.category === 'conversation'),
  )
  samePositions(
    t,
    positionsOf(rest.out),
    expected((e) => e.category !== 'conversation'),
  )
})

t.test('filters by type, repeatable', async (t) => {
  const result = await parley(['replay', '--type', 'MessageSent', '--type', 'PushAbandoned'])

  const want = expected((e) => e.type === 'MessageSent' || e.type === 'PushAbandoned')
  t.ok(want.length > 1000)
  samePositions(t, positionsOf(result.out), want)
})

t.test('filters by conversation and by streams, merged in log order', async (t) => {
  const conversation = stored.find((e) => e.type === 'ConversationClosed')!.streamName
  const conversationId = conversation.slice('conversation-'.length)
  const presence = 'presence-agent-a3'

  const one = await parley(['replay', '--conversation', conversationId])
  const several = await parley(['replay', '--stream', `${presence},${conversation}`])

  const inConversation = expected((e) => e.streamName === conversation)
  t.ok(inConversation.length > 5)
  samePositions(t, positionsOf(one.out), inConversation)
  t.strictSame(
    parseLines(one.out).map((line) => Number(line.revision)),
    [...inConversation.keys()],
    'the whole stream, revisions 0, 1, 2...',
  )
  samePositions(
    t,
    positionsOf(several.out),
    expected((e) => e.streamName === presence || e.streamName === conversation),
  )
})

t.test('reads --from a position exclusive and --to a position inclusive', async (t) => {
  const result = await parley(['replay', '--from', '500', '--to', '1500'])

  const positions = positionsOf(result.out)
  t.equal(positions[0], '501')
  t.equal(positions.at(-1), '1500')
  t.equal(positions.length, 1000)
})

t.test('reads --from a time inclusive and --to a time exclusive, on recordedAt', async (t) => {
  const from = stored[2000].recordedAtMs
  const to = stored[7000].recordedAtMs
  const iso = (ms: number) => new Date(ms).toISOString()

  const result = await parley(['replay', '--from', iso(from), '--to', iso(to)])

  const want = expected((e) => e.recordedAtMs >= from && e.recordedAtMs < to)
  t.equal(want[0], stored.find((e) => e.recordedAtMs === from)!.position)
  samePositions(t, positionsOf(result.out), want)
})

t.test('combines every kind of filter', async (t) => {
  const to = stored[15_000].recordedAtMs
  const filters = ['--category', 'conversation', '--type', 'MessageAcknowledged']
  const bounds = ['--from', '3000', '--from', '2025-01-06', '--to', new Date(to).toISOString()]

  const result = await parley(['replay', ...filters, ...bounds])

  const want = expected(
    (e) =>
      e.category === 'conversation' &&
      e.type === 'MessageAcknowledged' &&
      Number(e.position) > 3000 &&
      e.recordedAtMs < to,
  )
  t.ok(want.length > 100)
  samePositions(t, positionsOf(result.out), want)
})

t.test('gives nothing for a stream outside the asked categories', async (t) => {
  const result = await parley(['replay', '--stream', 'agent-a1', '--category', 'presence'])

  t.equal(result.code, 0)
  t.equal(result.out, '')
})
