import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { REPLAY_CSV_COLUMNS } from '../../src/cli/commands/replay-format'
import { REPLAY_EVENTS_FILE } from '../../src/cli/commands/replay-source'
import { EXIT_FAILURE, EXIT_USAGE } from '../../src/cli/main'
import { EVENTS_FILE } from '../../src/server'
import { SEED_EVENTS_FILE, seedLog } from '../support/seed-log'
import { parley as run, parseLines, readStoredLines } from './replay-harness'

// Seeding and replaying 100,000 events takes about 10 s alone, and several times that beside the
// rest of the suite on two cores: more than the default 60 s per file must not fail it.
t.setTimeout(180_000)

// One seeded log of 100,000 events for the file, and what it holds, read with plain SQLite.
const dataDir = t.testdir()
const seeded = seedLog({ dir: dataDir, events: 100_000, seed: 42 })
const stored = readStoredLines(seeded.path)
const parley = (args: string[]) => run(args, { dataDir })

t.test('replays 100,000 events as NDJSON, in order and exactly as stored', async (t) => {
  const result = await parley(['replay'])

  const lines = parseLines(result.out)
  t.equal(result.code, 0)
  t.equal(result.err, '', 'quiet when stderr is not a terminal')
  t.equal(lines.length, 100_000)
  t.strictSame(Object.keys(lines[0]), [
    'position',
    'id',
    'streamName',
    'revision',
    'type',
    'recordedAt',
    'recordedAtMs',
    'data',
    'metadata',
  ])
  const differing = lines.findIndex((line, i) => {
    const { category: _category, ...want } = stored[i]
    return !isDeepStrictEqual(line, want)
  })
  t.equal(differing, -1, 'every line equals the stored event at the same place')
})

t.test('writes CSV with a header, one row per event and data as JSON text', async (t) => {
  const result = await parley(['replay', '--format', 'csv', '--to', '3000'])

  const [header, ...rows] = parse(result.out) as string[][]
  t.equal(result.code, 0)
  t.strictSame(header, [...REPLAY_CSV_COLUMNS])
  t.equal(rows.length, 3000)
  const differing = rows.findIndex((row, i) => {
    const e = stored[i]
    const envelope = [e.position, e.id, e.streamName, e.revision, e.type, e.recordedAt]
    return (
      !isDeepStrictEqual(row.slice(0, 6), envelope) ||
      row[6] !== String(e.recordedAtMs) ||
      !isDeepStrictEqual(JSON.parse(row[7]), e.data) ||
      row[8] !== '{}'
    )
  })
  t.equal(differing, -1, 'every row equals the stored event, quoting included')
})

t.test('refuses a bad command line with the usage exit code', async (t) => {
  const cases = [
    ['replay', '--from', 'yesterday'],
    ['replay', '--from', '2025-01-06T10:00:00'],
    ['replay', '--from', '10', '--from', '20'],
    ['replay', '--category', 'conversation,orders'],
    ['replay', '--format', 'xml'],
    ['replay', '--append'],
  ]

  for (const args of cases) {
    const result = await parley(args)
    t.equal(result.code, EXIT_USAGE, args.join(' '))
    t.equal(result.out, '')
  }
})

t.test('fails without creating anything when the data directory has no log', async (t) => {
  const empty = t.testdir()

  const result = await run(['replay'], { dataDir: empty })

  t.equal(result.code, EXIT_FAILURE)
  t.match(result.err, `parley: no event log at ${join(empty, REPLAY_EVENTS_FILE)}`)
  t.notOk(existsSync(join(empty, REPLAY_EVENTS_FILE)))
})

t.test('seeds the same log for the same seed, and another for another seed', async (t) => {
  const base = t.testdir()
  let runs = 0
  const seeded = (seed: number) =>
    readStoredLines(seedLog({ dir: join(base, String(++runs)), events: 3000, seed }).path)

  const [first, again, other] = [seeded(5), seeded(5), seeded(6)]

  t.ok(isDeepStrictEqual(first, again), 'ids, times and data included')
  t.notOk(isDeepStrictEqual(first, other))
  t.equal(first.length, 3000)
})

t.test('reads the file the server writes', async (t) => {
  t.equal(REPLAY_EVENTS_FILE, EVENTS_FILE)
  t.equal(SEED_EVENTS_FILE, EVENTS_FILE)
})
