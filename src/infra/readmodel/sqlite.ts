import Database from 'better-sqlite3'
import type { CollectionSpec, Doc, DocChange, Query, ReadModelStore, Scalar } from './port'

export interface SqliteReadModelOptions {
  /** A database file, or ':memory:' for a store that lives as long as the process. */
  path: string
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Collections and fields become SQL identifiers, so only plain names get that far. */
function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`invalid read-model identifier: ${name}`)
  return `"${name}"`
}

// Generated columns get a prefix so a field called `key` or `doc` cannot clash with ours.
const column = (field: string): string => identifier(`f_${field}`)

/** A top-level field read out of the JSON document; the name is checked like an identifier. */
function extract(field: string): string {
  identifier(field)
  return `json_extract(doc, '$.${field}')`
}

// SQLite has no boolean: json_extract gives JSON true and false back as 1 and 0.
const bindable = (value: Scalar): string | number | null =>
  typeof value === 'boolean' ? (value ? 1 : 0) : value

const RANGE_OPERATORS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const

/**
 * Read models in SQLite: one table per collection holding each document as JSON, with a virtual
 * generated column per indexed field so the SQL indexes (and the queries) work on plain columns.
 */
export function createSqliteReadModelStore({ path }: SqliteReadModelOptions): ReadModelStore {
  const db = new Database(path)
  // Read models can always be rebuilt by replaying the log, so `synchronous = NORMAL` is enough:
  // a power cut may lose the last commits, but docs and checkpoint are in one transaction and
  // roll back together, and the projection simply replays from the older checkpoint.
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE IF NOT EXISTS checkpoints (projection TEXT PRIMARY KEY, position TEXT)')

  const statements = new Map<string, Database.Statement>()
  const prepare = (sql: string): Database.Statement => {
    let statement = statements.get(sql)
    if (statement === undefined) {
      statement = db.prepare(sql)
      statements.set(sql, statement)
    }
    return statement
  }

  // Fields with a generated column, by collection; anything else is queried through json_extract.
  const indexedFields = new Map<string, Set<string>>()
  const fieldsOf = (collection: string): Set<string> => {
    let fields = indexedFields.get(collection)
    if (fields === undefined) {
      const columns = db.pragma(`table_xinfo(${identifier(collection)})`) as { name: string }[]
      fields = new Set(columns.filter((c) => c.name.startsWith('f_')).map((c) => c.name.slice(2)))
      indexedFields.set(collection, fields)
    }
    return fields
  }
  const expression = (collection: string, field: string): string =>
    fieldsOf(collection).has(field) ? column(field) : extract(field)

  const tableExists = (name: string): boolean =>
    prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined

  const ensureCollection = (spec: CollectionSpec): void => {
    const table = identifier(spec.name)
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, doc TEXT NOT NULL)`)
    indexedFields.delete(spec.name)

    const fields = fieldsOf(spec.name)
    for (const field of new Set(spec.indexes.flat())) {
      if (fields.has(field)) continue
      // SQLite can add a VIRTUAL generated column to a table that has rows (not a STORED one).
      const generated = `GENERATED ALWAYS AS (${extract(field)}) VIRTUAL`
      db.exec(`ALTER TABLE ${table} ADD COLUMN ${column(field)} ${generated}`)
      fields.add(field)
    }

    // `key` closes every index because `find` breaks order ties by key: the index then serves
    // the whole ORDER BY and a LIMIT stops early, with no sort step.
    for (const index of spec.indexes) {
      const name = identifier(`${spec.name}__${index.join('__')}`)
      const columns = [...index.map(column), 'key'].join(', ')
      db.exec(`CREATE INDEX IF NOT EXISTS ${name} ON ${table} (${columns})`)
    }
  }

  const applyChange = (change: DocChange): void => {
    const table = identifier(change.collection)
    if (change.doc === null) {
      prepare(`DELETE FROM ${table} WHERE key = ?`).run(change.key)
      return
    }
    const upsert =
      `INSERT INTO ${table} (key, doc) VALUES (?, ?) ` +
      'ON CONFLICT (key) DO UPDATE SET doc = excluded.doc'
    prepare(upsert).run(change.key, JSON.stringify(change.doc))
  }

  const commit = db.transaction(
    (projection: string, changes: readonly DocChange[], checkpoint: bigint) => {
      for (const change of changes) applyChange(change)
      prepare(
        'INSERT INTO checkpoints (projection, position) VALUES (?, ?) ' +
          'ON CONFLICT (projection) DO UPDATE SET position = excluded.position',
      ).run(projection, checkpoint.toString())
    },
  )

  const reset = db.transaction((projection: string, collections: readonly string[]) => {
    for (const collection of collections) {
      if (tableExists(collection)) prepare(`DELETE FROM ${identifier(collection)}`).run()
    }
    prepare('DELETE FROM checkpoints WHERE projection = ?').run(projection)
  })

  const find = (query: Query): Doc[] => {
    const { collection, where = {}, range, orderBy, limit } = query
    const conditions: string[] = []
    const params: (string | number | null)[] = []

    // 1. Equality: `= NULL` never matches in SQL, so null means IS NULL.
    for (const [field, value] of Object.entries(where)) {
      const target = expression(collection, field)
      if (value === null) conditions.push(`${target} IS NULL`)
      else {
        conditions.push(`${target} = ?`)
        params.push(bindable(value))
      }
    }

    // 2. One range.
    if (range !== undefined) {
      const target = expression(collection, range.field)
      for (const [name, operator] of Object.entries(RANGE_OPERATORS)) {
        const bound = range[name as keyof typeof RANGE_OPERATORS]
        if (bound === undefined) continue
        conditions.push(`${target} ${operator} ?`)
        params.push(bindable(bound))
      }
    }

    // 3. Order (key breaks ties, so pages are stable) and limit.
    let sql = `SELECT doc FROM ${identifier(collection)}`
    if (conditions.length > 0) sql += ` WHERE ${conditions.join(' AND ')}`
    const direction = orderBy?.direction === 'desc' ? 'DESC' : 'ASC'
    sql += orderBy
      ? ` ORDER BY ${expression(collection, orderBy.field)} ${direction}, key ${direction}`
      : ' ORDER BY key'
    if (limit !== undefined) {
      if (!Number.isInteger(limit) || limit < 0) throw new Error(`invalid limit: ${limit}`)
      sql += ' LIMIT ?'
      params.push(limit)
    }

    const rows = prepare(sql).all(...params) as { doc: string }[]
    return rows.map((row) => JSON.parse(row.doc) as Doc)
  }

  return {
    async ensureCollections(specs) {
      db.transaction(() => specs.forEach(ensureCollection))()
    },

    async get(collection, key) {
      const row = prepare(`SELECT doc FROM ${identifier(collection)} WHERE key = ?`).get(key) as
        { doc: string } | undefined
      return row && (JSON.parse(row.doc) as Doc)
    },

    async getMany(collection, keys) {
      const docs = new Map<string, Doc>()
      if (keys.length === 0) return docs

      // One statement whatever the number of keys: they travel as a single JSON array.
      const sql =
        `SELECT key, doc FROM ${identifier(collection)} ` +
        'WHERE key IN (SELECT value FROM json_each(?))'
      const rows = prepare(sql).all(JSON.stringify(keys)) as { key: string; doc: string }[]
      for (const row of rows) docs.set(row.key, JSON.parse(row.doc) as Doc)
      return docs
    },

    find: async (query) => find(query),

    async commit(projection, changes, checkpoint) {
      commit(projection, changes, checkpoint)
    },

    async checkpoint(projection) {
      const row = prepare('SELECT position FROM checkpoints WHERE projection = ?').get(
        projection,
      ) as { position: string | null } | undefined
      return row?.position == null ? undefined : BigInt(row.position)
    },

    async reset(projection, collections) {
      reset(projection, collections)
    },

    async close() {
      if (db.open) db.close()
    },
  }
}
