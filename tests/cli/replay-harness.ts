import { Writable } from 'node:stream'
import Database from 'better-sqlite3'
import { run } from '../../src/cli/main'

/** A line of `parley replay`, as docs/analysts.md describes it. */
export interface ReplayLine {
  position: string
  id: string
  streamName: string
  revision: string
  type: string
  recordedAt: string
  recordedAtMs: number
  data: unknown
  metadata: unknown
}

/** A stored event as the replay should print it, with its category for filtering. */
export type StoredLine = ReplayLine & { category: string }

export interface ParleyRun {
  dataDir: string
  /** Aborts the command's signal once this many lines have reached stdout. */
  abortAfterLines?: number
  /** The command's signal, instead of the one `abortAfterLines` aborts. */
  signal?: AbortSignal
  /** Whether stderr says it is a terminal; default false. */
  tty?: boolean
  /** A stdout of the test's own, instead of one that keeps the text. */
  stdout?: Writable
  /** More environment, as the shell would give it (the backend URLs, say). */
  env?: Record<string, string>
}

/** Runs `parley ...args` in-process with stream-capable io and keeps what it printed. */
export async function parley(args: string[], options: ParleyRun) {
  const chunks: string[] = []
  let err = ''
  let lines = 0
  const controller = new AbortController()
  const keep = (onText: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        onText(chunk.toString())
        callback()
      },
    })
  const stdout =
    options.stdout ??
    keep((text) => {
      chunks.push(text)
      lines += text.split('\n').length - 1
      if (lines >= (options.abortAfterLines ?? Infinity)) controller.abort()
    })
  const stderr = Object.assign(
    keep((text) => void (err += text)),
    { isTTY: options.tty ?? false, columns: 100 },
  )
  const io = {
    out: (text: string) => void chunks.push(text),
    err: (text: string) => void (err += text),
    env: { PARLEY_DATA_DIR: options.dataDir, ...options.env },
    stdout,
    stderr,
    signal: options.signal ?? controller.signal,
  }

  const code = await run(['node', 'parley', ...args], io)
  return { code, out: chunks.join(''), err }
}

export const parseLines = (out: string): ReplayLine[] =>
  out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ReplayLine)

export const positionsOf = (out: string): string[] => parseLines(out).map((l) => l.position)

/**
 * Where two lists of positions first differ, or -1 when they are equal. Long lists are compared
 * this way because tap's deep comparison formats both sides, which is slow for 10,000 items.
 */
export function firstDifference(actual: readonly string[], expected: readonly string[]): number {
  const length = Math.max(actual.length, expected.length)
  for (let i = 0; i < length; i++) if (actual[i] !== expected[i]) return i
  return -1
}

/** The arguments of the `resume with:` hint an interrupted replay printed. */
export function resumeArgsIn(err: string): string[] {
  const match = /resume with: parley (.+)\n/.exec(err)
  if (!match) throw new Error(`no resume hint in: ${err}`)
  return match[1].split(' ')
}

/** Every stored event, read straight from SQLite rather than through the store. */
export function readStoredLines(path: string): StoredLine[] {
  const db = new Database(path, { readonly: true })
  const rows = db
    .prepare(
      `SELECT position, id, stream, revision, type, data, metadata, recorded_at, category
       FROM events ORDER BY position`,
    )
    .all() as Record<string, string & number>[]
  db.close()
  return rows.map((row) => ({
    position: String(row.position),
    id: row.id,
    streamName: row.stream,
    revision: String(row.revision),
    type: row.type,
    recordedAt: new Date(row.recorded_at).toISOString(),
    recordedAtMs: row.recorded_at,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
    category: row.category,
  }))
}
