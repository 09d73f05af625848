import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { EXIT_FAILURE } from '../../src/cli/main'
import { seedLog } from '../support/seed-log'
import {
  firstDifference,
  parley as run,
  parseLines,
  readStoredLines,
  resumeArgsIn,
  type ParleyRun,
} from './replay-harness'

// A seeded log of 20,000 events, stopped and resumed in several ways.
const dataDir = t.testdir()
const stored = readStoredLines(seedLog({ dir: dataDir, events: 20_000, seed: 11 }).path)
const parley = (args: string[], options: Omit<ParleyRun, 'dataDir'> = {}) =>
  run(args, { dataDir, ...options })

t.test(
  'resumes an interrupted replay with the printed --from, losing and repeating nothing',
  async (t) => {
    const args = ['replay', '--category', 'conversation']

    const first = await parley(args, { abortAfterLines: 6000 })
    const stopped = parseLines(first.out)
    const last = stopped.at(-1)!.position
    const resume = resumeArgsIn(first.err)
    const second = await parley(resume)

    t.equal(first.code, EXIT_FAILURE)
    t.ok(stopped.length >= 6000 && stopped.length < 9000, 'it stopped soon after the signal')
    t.match(
      first.err,
      `replay interrupted after position ${last} (${stopped.length} events written)`,
    )
    t.strictSame(resume, [...args, '--from', last])
    t.equal(second.code, 0)
    const positions = [...stopped, ...parseLines(second.out)].map((line) => line.position)
    t.equal(new Set(positions).size, positions.length, 'no event twice')
    t.strictSame(
      positions,
      stored.filter((e) => e.category === 'conversation').map((e) => e.position),
      'no gap',
    )
  },
)

t.test('resumes into the same --out file, keeping the time bound and one CSV header', async (t) => {
  const dir = t.testdir()
  const whole = join(dir, 'whole.csv')
  const pieces = join(dir, 'pieces.csv')
  const args = ['replay', '--format', 'csv', '--from', '2025-01-06T08:30:00Z', '--to', '15000']

  await parley([...args, '--out', whole])
  const first = await parley([...args, '--out', pieces], { signal: AbortSignal.abort() })
  const resume = resumeArgsIn(first.err)
  const second = await parley(resume)

  t.equal(first.code, EXIT_FAILURE)
  t.match(resume.join(' '), '--from 2025-01-06T08:30:00Z --from ')
  t.match(resume.join(' '), `--to 15000 --out ${pieces} --append`)
  t.equal(second.code, 0)
  const rows = parse(readFileSync(pieces, 'utf8')) as string[][]
  t.equal(rows.filter((row) => row[0] === 'position').length, 1, 'one header')
  t.ok(rows.length > 1000)
  t.equal(readFileSync(pieces, 'utf8'), readFileSync(whole, 'utf8'))
})

t.test('draws a progress bar with rate and ETA only on a terminal', async (t) => {
  const onTerminal = await parley(['replay', '--to', '10000'], { tty: true })
  const disabled = await parley(['replay', '--to', '10000', '--no-progress'], { tty: true })

  t.match(onTerminal.err, /replay .*\d+ events \| \d+\/s \| ETA/)
  t.equal(disabled.err, '')
  t.equal(parseLines(onTerminal.out).length, 10_000, 'the bar stays off stdout')
})

t.test('stops quietly when the reader goes away', async (t) => {
  let writes = 0
  const closedPipe = new Writable({
    write(_chunk, _encoding, callback) {
      writes += 1
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
    },
  })

  const result = await parley(['replay'], { stdout: closedPipe })

  t.equal(result.code, 0)
  t.equal(result.err, '')
  t.equal(writes, 1, 'nothing more is written once the pipe is gone')
})
