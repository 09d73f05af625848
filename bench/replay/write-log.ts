import { randomUUID } from 'node:crypto'
import { statSync } from 'node:fs'
import { categoryOf } from '../../src/domain/shared/streams'
import { openEventsDatabase } from '../../src/infra/eventstore/sqlite-schema'
import { generateLog, type LogEvent } from './event-log'

/** Rows per transaction while the log is written: 10,000. */
const ROWS_PER_COMMIT = 10_000

export interface WrittenLog {
  events: number
  bytes: number
  seconds: number
}

/**
 * Writes a generated log of `total` events into a new events database with the store's own
 * schema and pragmas (openEventsDatabase), in large transactions: set-up, not a measurement.
 */
export function writeLog(path: string, total: number): WrittenLog {
  const started = performance.now()
  const db = openEventsDatabase(path)
  const insert = db.prepare(
    `INSERT INTO events (id, stream, revision, type, data, metadata, recorded_at, category)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const revisions = new Map<string, number>()
  const commit = db.transaction((rows: LogEvent[]) => {
    const at = Date.now()
    for (const { stream, type, data } of rows) {
      const revision = (revisions.get(stream) ?? -1) + 1
      revisions.set(stream, revision)
      insert.run(
        randomUUID(),
        stream,
        revision,
        type,
        JSON.stringify(data),
        '{}',
        at,
        categoryOf(stream),
      )
    }
  })

  let rows: LogEvent[] = []
  let written = 0
  for (const event of generateLog(total)) {
    rows.push(event)
    if (rows.length === ROWS_PER_COMMIT) {
      commit(rows)
      written += rows.length
      rows = []
    }
  }
  if (rows.length > 0) commit(rows)
  written += rows.length
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  return {
    events: written,
    bytes: statSync(path).size,
    seconds: (performance.now() - started) / 1000,
  }
}
