import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { RecordedEvent } from './port'

/**
 * The SQLite events table, its connection settings and the statements the store prepares once.
 * `position` is the rowid. AUTOINCREMENT never reuses the rowid of a deleted last row, as a plain
 * rowid would, so positions only ever grow even if the log is ever trimmed.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    stream TEXT NOT NULL,
    revision INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    category TEXT NOT NULL,
    UNIQUE (stream, revision)
  );
  CREATE INDEX IF NOT EXISTS events_category_position ON events (category, position);
`

const COLUMNS = 'position, id, stream, revision, type, data, metadata, recorded_at'

/** A row as read with safe integers, so 64-bit positions survive. */
export interface EventRow {
  position: bigint
  id: string
  stream: string
  revision: bigint
  type: string
  data: string
  metadata: string
  recorded_at: bigint
}

/** Opens (creating the directory, file and table if missing) a database ready for the store. */
export function openEventsDatabase(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path)

  // WAL lets catch-up reads run beside the writer. In WAL mode `synchronous = NORMAL` fsyncs only
  // at checkpoints, so a committed append could vanish on power loss; FULL fsyncs the log at
  // every commit, which is what lets an append resolve as durable. Group commit pays that fsync
  // once per batch of appends rather than once per append.
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec(SCHEMA)
  return db
}

type InsertParams = [string, string, bigint, string, string, string, number, string]
type Ref = Pick<EventRow, 'stream' | 'revision' | 'position'>

/** Every statement the store runs, prepared once. */
export interface EventStatements {
  insert: Database.Statement<InsertParams>
  streamRevision: Database.Statement<[string], bigint>
  findById: Database.Statement<[string], Ref>
  readStream: Database.Statement<[string, bigint], EventRow>
  pageAll: Database.Statement<[bigint, number], EventRow>
  pageCategory: Database.Statement<[string, bigint, number], EventRow>
  head: Database.Statement<[], bigint | null>
}

export function prepareStatements(db: Database.Database): EventStatements {
  return {
    insert: db
      .prepare<InsertParams>(
        `INSERT INTO events (id, stream, revision, type, data, metadata, recorded_at, category)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .safeIntegers(true),
    streamRevision: db
      .prepare<[string], bigint>(
        'SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1',
      )
      .pluck()
      .safeIntegers(true),
    findById: db
      .prepare<[string], Ref>('SELECT stream, revision, position FROM events WHERE id = ?')
      .safeIntegers(true),
    readStream: db
      .prepare<[string, bigint], EventRow>(
        `SELECT ${COLUMNS} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision`,
      )
      .safeIntegers(true),
    pageAll: db
      .prepare<[bigint, number], EventRow>(
        `SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`,
      )
      .safeIntegers(true),
    pageCategory: db
      .prepare<[string, bigint, number], EventRow>(
        `SELECT ${COLUMNS} FROM events WHERE category = ? AND position > ?
         ORDER BY position LIMIT ?`,
      )
      .safeIntegers(true),
    head: db
      .prepare<[], bigint | null>('SELECT MAX(position) FROM events')
      .pluck()
      .safeIntegers(true),
  }
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    streamName: row.stream,
    revision: row.revision,
    position: row.position,
    type: row.type,
    data: JSON.parse(row.data),
    // Most events carry no metadata, and a replay need not parse '{}' a million times.
    metadata: row.metadata === '{}' ? {} : JSON.parse(row.metadata),
    recordedAt: Number(row.recorded_at),
  }
}
