import Database from 'better-sqlite3'
import {
  ReadModelCheckpointMovedError,
  ReadModelGenerationError,
  type CheckpointState,
  type CollectionSpec,
  type CommitOptions,
  type Doc,
  type DocChange,
  type Entry,
  type Query,
  type ReadModelStore,
  type ReadModelTransaction,
  type Scalar,
  type SwitchOverRequest,
} from './port'

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

/** Default page size of `entries`: 1000 documents. */
export const DEFAULT_ENTRIES_LIMIT = 1000

const ignore = (): void => undefined

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
  // Files written before generations existed get the column; IMMEDIATE, because a rebuild and
  // the server may open the same file at once and only one of them may add it.
  db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS checkpoints ' +
        '(projection TEXT PRIMARY KEY, position TEXT, generation INTEGER NOT NULL DEFAULT 0)',
    )
    const columns = db.pragma('table_info(checkpoints)') as { name: string }[]
    if (!columns.some((c) => c.name === 'generation')) {
      db.exec('ALTER TABLE checkpoints ADD COLUMN generation INTEGER NOT NULL DEFAULT 0')
    }
  }).immediate()

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
  const indexExists = (name: string): boolean =>
    prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(name) !== undefined

  // An index is known by its columns, not its name: a table renamed by a switch-over keeps the
  // names its indexes were created under, which then belong to no collection's naming scheme.
  const indexedColumns = (table: string): Set<string> => {
    const indexes = db.pragma(`index_list(${identifier(table)})`) as { name: string }[]
    return new Set(
      indexes.map(({ name }) => {
        const columns = db.pragma(`index_info(${identifier(name)})`) as { name: string }[]
        return columns.map((c) => c.name).join(',')
      }),
    )
  }

  // Index names are global in SQLite, and a renamed table's indexes keep theirs: the first free
  // of `<collection>__<fields>`, then with `__2`, `__3` and so on.
  const freeIndexName = (base: string): string => {
    let name = base
    for (let n = 2; indexExists(name); n++) name = `${base}__${n}`
    return name
  }

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
    const existing = indexedColumns(spec.name)
    for (const index of spec.indexes) {
      const columns = [...index.map((field) => `f_${field}`), 'key']
      if (existing.has(columns.join(','))) continue

      const name = identifier(freeIndexName(`${spec.name}__${index.join('__')}`))
      db.exec(`CREATE INDEX ${name} ON ${table} (${columns.map(identifier).join(', ')})`)
      existing.add(columns.join(','))
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

  const readState = (projection: string): CheckpointState => {
    const row = prepare('SELECT position, generation FROM checkpoints WHERE projection = ?').get(
      projection,
    ) as { position: string | null; generation: number } | undefined
    return {
      position: row?.position == null ? undefined : BigInt(row.position),
      generation: row?.generation ?? 0,
    }
  }

  const checkGeneration = (projection: string, expected: number | undefined): CheckpointState => {
    const state = readState(projection)
    if (expected !== undefined && state.generation !== expected) {
      throw new ReadModelGenerationError(projection, expected, state.generation)
    }
    return state
  }

  const writeState = (projection: string, { position, generation }: CheckpointState): void => {
    prepare(
      'INSERT INTO checkpoints (projection, position, generation) VALUES (?, ?, ?) ' +
        'ON CONFLICT (projection) DO UPDATE SET ' +
        'position = excluded.position, generation = excluded.generation',
    ).run(projection, position?.toString() ?? null, generation)
  }

  // IMMEDIATE: the generation is read before anything is written, and a read lock upgraded
  // after another process wrote fails at once (SQLITE_BUSY_SNAPSHOT) instead of waiting.
  const commitTx = db.transaction(
    (
      projection: string,
      changes: readonly DocChange[],
      checkpoint: bigint,
      { generation, position }: CommitOptions,
    ) => {
      const state = checkGeneration(projection, generation)
      const stored = state.position ?? null
      if (position !== undefined && stored !== position) {
        throw new ReadModelCheckpointMovedError(projection, position, stored)
      }
      for (const change of changes) applyChange(change)
      prepare(
        'INSERT INTO checkpoints (projection, position) VALUES (?, ?) ' +
          'ON CONFLICT (projection) DO UPDATE SET position = excluded.position',
      ).run(projection, checkpoint.toString())
    },
  ).immediate

  const claimTx = db.transaction(
    (projection: string, collections: readonly string[], expected?: number): number => {
      const { generation } = checkGeneration(projection, expected)
      for (const collection of collections) {
        db.exec(`DROP TABLE IF EXISTS ${identifier(collection)}`)
        indexedFields.delete(collection)
      }
      writeState(projection, { position: undefined, generation: generation + 1 })
      return generation + 1
    },
  ).immediate

  // Runs inside the switch's open transaction, after its final catch-up.
  const swap = ({ projection, shadow, collections }: SwitchOverRequest): CheckpointState => {
    const claimed = checkGeneration(shadow.projection, shadow.generation)
    for (const { live, shadow: replacement } of collections) {
      if (!tableExists(replacement)) throw new Error(`no shadow collection ${replacement}`)
      // Dropping a table drops its indexes; the renamed one brings its own.
      db.exec(`DROP TABLE IF EXISTS ${identifier(live)}`)
      db.exec(`ALTER TABLE ${identifier(replacement)} RENAME TO ${identifier(live)}`)
      indexedFields.delete(live)
      indexedFields.delete(replacement)
    }

    const next = { position: claimed.position, generation: readState(projection).generation + 1 }
    writeState(projection, next)
    writeState(shadow.projection, { position: undefined, generation: claimed.generation + 1 })
    return next
  }

  const reset = db.transaction((projection: string, collections: readonly string[]) => {
    for (const collection of collections) {
      if (tableExists(collection)) prepare(`DELETE FROM ${identifier(collection)}`).run()
    }
    prepare('DELETE FROM checkpoints WHERE projection = ?').run(projection)
  }).immediate

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

  const get = (collection: string, key: string): Doc | undefined => {
    const row = prepare(`SELECT doc FROM ${identifier(collection)} WHERE key = ?`).get(key) as
      { doc: string } | undefined
    return row && (JSON.parse(row.doc) as Doc)
  }

  const getMany = (collection: string, keys: readonly string[]): Map<string, Doc> => {
    const docs = new Map<string, Doc>()
    if (keys.length === 0) return docs

    // One statement whatever the number of keys: they travel as a single JSON array.
    const sql =
      `SELECT key, doc FROM ${identifier(collection)} ` +
      'WHERE key IN (SELECT value FROM json_each(?))'
    const rows = prepare(sql).all(JSON.stringify(keys)) as { key: string; doc: string }[]
    for (const row of rows) docs.set(row.key, JSON.parse(row.doc) as Doc)
    return docs
  }

  const entries = (collection: string, afterKey?: string, limit = DEFAULT_ENTRIES_LIMIT) => {
    if (!Number.isInteger(limit) || limit < 0) throw new Error(`invalid limit: ${limit}`)
    const table = identifier(collection)
    const rows = (
      afterKey === undefined
        ? prepare(`SELECT key, doc FROM ${table} ORDER BY key LIMIT ?`).all(limit)
        : prepare(`SELECT key, doc FROM ${table} WHERE key > ? ORDER BY key LIMIT ?`).all(
            afterKey,
            limit,
          )
    ) as { key: string; doc: string }[]
    return rows.map((row): Entry => ({ key: row.key, doc: JSON.parse(row.doc) as Doc }))
  }

  // A snapshot or a switch-over keeps a transaction open across awaits. Any other write through
  // this store meanwhile would land inside it, so writers wait for it to end; what runs inside
  // gets a view whose writes do not wait.
  let exclusive: Promise<void> | undefined
  const alone = async <T>(work: () => Promise<T>): Promise<T> => {
    while (exclusive) await exclusive
    // Held before `work` starts: its synchronous first steps may already call a writer.
    let release = ignore
    exclusive = new Promise<void>((resolve) => (release = resolve))
    try {
      return await work()
    } finally {
      exclusive = undefined
      release()
    }
  }
  const inTransaction = async <T>(begin: string, work: () => Promise<T>): Promise<T> =>
    alone(async () => {
      db.exec(begin)
      try {
        const result = await work()
        db.exec('COMMIT')
        return result
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK')
        throw err
      }
    })

  const view: ReadModelTransaction = {
    get: async (collection, key) => get(collection, key),
    getMany: async (collection, keys) => getMany(collection, keys),
    find: async (query) => find(query),
    entries: async (collection, options = {}) =>
      entries(collection, options.afterKey, options.limit),
    checkpoint: async (projection) => readState(projection).position,
    checkpointState: async (projection) => readState(projection),
    commit: async (projection, changes, checkpoint, options = {}) =>
      commitTx(projection, changes, checkpoint, options),
  }

  return {
    async ensureCollections(specs) {
      while (exclusive) await exclusive
      // IMMEDIATE, as every write here: schema reads come first, and a read lock upgraded after
      // another process (a server, a rebuild) committed fails at once with "database is locked".
      db.transaction(() => specs.forEach(ensureCollection)).immediate()
    },

    get: view.get,
    getMany: view.getMany,
    find: view.find,
    entries: view.entries,
    checkpoint: view.checkpoint,
    checkpointState: view.checkpointState,

    async commit(projection, changes, checkpoint, options = {}) {
      while (exclusive) await exclusive
      commitTx(projection, changes, checkpoint, options)
    },

    async reset(projection, collections) {
      while (exclusive) await exclusive
      reset(projection, collections)
    },

    async claim(projection, collections, options = {}) {
      while (exclusive) await exclusive
      return claimTx(projection, collections, options.generation)
    },

    switchOver: (request) =>
      inTransaction('BEGIN IMMEDIATE', async () => {
        await request.beforeSwitch?.(view)
        return swap(request)
      }),

    snapshot: (read) => inTransaction('BEGIN', () => read(view)),

    async close() {
      if (db.open) db.close()
    },
  }
}
