import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { RecordedEvent } from './port'

/**
 * The SQLite events table, its connection settings and the statements the store prepares once.
 * `position` is the rowid. AUTOINCREMENT never reuses the rowid of a deleted last row, as a plain
 * rowid would, so positions only ever grow even if the log is ever trimmed.
 *
 * Only ids the caller chose (`chosen_id = 1`) are in a unique index: they are what makes a retried
 * append idempotent. An id the store drew itself is a random UUID; indexing it bought nothing but
 * one more B-tree leaf, a random one, dirtied per event (a 4-KiB WAL frame at each commit).
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    stream TEXT NOT NULL,
    revision INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    category TEXT NOT NULL,
    chosen_id INTEGER NOT NULL DEFAULT 0,
    UNIQUE (stream, revision)
  );
  CREATE UNIQUE INDEX IF NOT EXISTS events_chosen_id ON events (id) WHERE chosen_id = 1;
  CREATE INDEX IF NOT EXISTS events_category_position ON events (category, position);
`

/**
 * `PRAGMA user_version` of a file with the layout above. A file made before it (version 0) has
 * `id TEXT NOT NULL UNIQUE`, an index SQLite cannot drop without copying the table; such a file
 * keeps its layout and is written with the statements of its own layout.
 */
export const EVENTS_LAYOUT_VERSION = 1

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
  // IMMEDIATE, so two processes opening a new file do not both decide to create it.
  db.transaction(() => {
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'events'").get()
    if (exists !== undefined) return
    db.exec(SCHEMA)
    db.pragma(`user_version = ${EVENTS_LAYOUT_VERSION}`)
  }).immediate()
  return db
}

type InsertParams = [string, string, bigint, string, string, string, number, string]

/** Inserts one event; `chosen` says whether its id came from the caller. */
export type InsertEvent = (...params: [...InsertParams, chosen: boolean]) => Database.RunResult
type Ref = Pick<EventRow, 'stream' | 'revision' | 'position'>

/** Every statement the store runs, prepared once. */
export interface EventStatements {
  insert: InsertEvent
  streamRevision: Database.Statement<[string], bigint>
  findById: Database.Statement<[string], Ref>
  readStream: Database.Statement<[string, bigint], EventRow>
  pageAll: Database.Statement<[bigint, number], EventRow>
  pageCategory: Database.Statement<[string, bigint, number], EventRow>
  head: Database.Statement<[], bigint | null>
}

export function prepareStatements(db: Database.Database): EventStatements {
  const legacy = db.pragma('user_version', { simple: true }) !== EVENTS_LAYOUT_VERSION
  const columns = 'id, stream, revision, type, data, metadata, recorded_at, category'
  const insert = legacy
    ? db.prepare<InsertParams>(`INSERT INTO events (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
    : db.prepare<[...InsertParams, number]>(
        `INSERT INTO events (${columns}, chosen_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
  insert.safeIntegers(true)
  return {
    insert: legacy
      ? (id, stream, revision, type, data, metadata, at, category) =>
          (insert as Database.Statement<InsertParams>).run(
            id,
            stream,
            revision,
            type,
            data,
            metadata,
            at,
            category,
          )
      : (id, stream, revision, type, data, metadata, at, category, chosen) =>
          insert.run(id, stream, revision, type, data, metadata, at, category, chosen ? 1 : 0),
    streamRevision: db
      .prepare<[string], bigint>(
        'SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1',
      )
      .pluck()
      .safeIntegers(true),
    findById: db
      .prepare<[string], Ref>(
        'SELECT stream, revision, position FROM events WHERE id = ?' +
          (legacy ? '' : ' AND chosen_id = 1'),
      )
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
