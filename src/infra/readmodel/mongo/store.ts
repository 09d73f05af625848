import {
  MongoClient,
  type ClientSession,
  type Db,
  type TransactionOptions,
  type WriteConcernSettings,
} from 'mongodb'
import { silentLogger, type Logger } from '../../logging/logger'
import type { CheckpointState, ReadModelStore, ReadModelTransaction } from '../port'
import { Checkpoints } from './checkpoints'
import { commitIn } from './commit'
import { translated } from './errors'
import { Aliases, collectionName, fresh } from './names'
import { indexKey } from './queries'
import { switchIn } from './switch-over'
import { createView } from './view'

/** Default database: `parley`. */
export const DEFAULT_MONGO_DB_NAME = 'parley'
/** Default write concern of every write and transaction: `majority`. */
export const DEFAULT_MONGO_WRITE_CONCERN: WriteConcernSettings = { w: 'majority' }
/** How long a collection replaced by a switch-over stays readable before it is dropped: 60 s. */
export const DEFAULT_RETIRED_GRACE_MS = 60_000

export interface MongoReadModelOptions {
  /** A MongoDB URL; transactions need a replica set (`?replicaSet=rs0`) or a sharded cluster. */
  url: string
  /** Default `DEFAULT_MONGO_DB_NAME`. */
  dbName?: string
  /** Default `silentLogger`. */
  logger?: Logger
  /** Default `DEFAULT_MONGO_WRITE_CONCERN`. */
  writeConcern?: WriteConcernSettings
  /** Default `DEFAULT_RETIRED_GRACE_MS`. */
  retiredGraceMs?: number
}

/**
 * Read models in MongoDB: one physical collection per read-model collection, found through an
 * alias document, documents under `_id` = key with their fields as they are, checkpoints in
 * `checkpoints`. Every commit, claim and switch-over is one multi-document transaction
 * (snapshot read concern, the configured write concern), so documents and checkpoint move
 * together and two nodes committing one projection conflict and are serialized by the driver's
 * transaction retries. See docs/read-models.md.
 */
export function createMongoReadModelStore(options: MongoReadModelOptions): ReadModelStore {
  const { url, dbName = DEFAULT_MONGO_DB_NAME } = options
  const writeConcern = options.writeConcern ?? DEFAULT_MONGO_WRITE_CONCERN
  const graceMs = options.retiredGraceMs ?? DEFAULT_RETIRED_GRACE_MS
  const log = (options.logger ?? silentLogger).child({ store: 'mongodb', db: dbName })
  const client = new MongoClient(url, { writeConcern })
  const db: Db = client.db(dbName)
  const aliases = new Aliases(db)
  const checkpoints = new Checkpoints(db)
  const reads = createView(db)

  const transactionOptions: TransactionOptions = {
    readConcern: { level: 'snapshot' },
    writeConcern,
    readPreference: 'primary',
  }

  // The driver retries the whole callback on a transient error (a write conflict with another
  // node) and the commit on an unknown result; anything else aborts and is rethrown.
  const inTransaction = <T>(work: (session: ClientSession) => Promise<T>): Promise<T> =>
    translated(async () => {
      const session = client.startSession()
      try {
        return await session.withTransaction(() => work(session), transactionOptions)
      } finally {
        await session.endSession()
      }
    })

  const transactionView = (session: ClientSession): ReadModelTransaction => ({
    ...createView(db, session),
    commit: (projection, changes, checkpoint, options = {}) =>
      commitIn(db, session, { projection, changes, checkpoint, ...options }),
  })

  return {
    ensureCollections: (specs) =>
      translated(async () => {
        for (const spec of specs) {
          const physical = await aliases.ensure(collectionName(spec.name))
          const collection = db.collection(physical)
          const exists = await db.listCollections({ name: physical }, { nameOnly: true }).hasNext()
          if (!exists) await db.createCollection(physical).catch(ignoreNamespaceExists)
          // Unnamed: the server's default name (`customer_1_placedAt_1__id_1`) is derived from
          // the key, so creating an existing index again is a no-op.
          if (spec.indexes.length > 0) {
            await collection.createIndexes(
              spec.indexes.map((fields) => ({ key: indexKey(fields) })),
            )
          }
        }
      }),

    get: (collection, key) => translated(() => reads.get(collection, key)),
    getMany: (collection, keys) => translated(() => reads.getMany(collection, keys)),
    find: (query) => translated(() => reads.find(query)),
    entries: (collection, options) => translated(() => reads.entries(collection, options)),
    checkpoint: (projection) => translated(() => reads.checkpoint(projection)),
    checkpointState: (projection) => translated(() => reads.checkpointState(projection)),

    commit: (projection, changes, checkpoint, options = {}) =>
      inTransaction((session) =>
        commitIn(db, session, { projection, changes, checkpoint, ...options }),
      ),

    reset: (projection, collections) =>
      inTransaction(async (session) => {
        const physical = await aliases.all(session)
        for (const name of collections) {
          const target = physical.get(collectionName(name))
          if (target !== undefined) await db.collection(target).deleteMany({}, { session })
        }
        await checkpoints.remove(projection, session)
      }),

    async claim(projection, collections, { generation: expected } = {}) {
      // Dropping cannot happen in a transaction: the claim points each name at a fresh,
      // empty physical collection and retires the old one, due at once.
      const generation = await inTransaction(async (session) => {
        const before = await checkpoints.check(projection, expected, session)
        const physical = await aliases.all(session)
        for (const name of collections) {
          const old = physical.get(collectionName(name))
          await aliases.point(name, fresh(name), session)
          if (old !== undefined) await aliases.retire(old, session, new Date(0))
        }
        const next: CheckpointState = { position: undefined, generation: before.generation + 1 }
        await checkpoints.write(projection, before, next, session)
        return next.generation
      })
      await aliases.dropRetired(graceMs, log)
      return generation
    },

    async switchOver(request) {
      const state = await inTransaction(async (session) => {
        await request.beforeSwitch?.(transactionView(session))
        return switchIn(db, session, request)
      })
      log.info(
        { projection: request.projection, generation: state.generation },
        'read model switched over',
      )
      await aliases.dropRetired(graceMs, log)
      return state
    },

    // A read-only transaction at snapshot read concern: every read in it sees one point in
    // time. It must end within the server's transaction lifetime (60 s by default).
    snapshot: (read) =>
      translated(async () => {
        const session = client.startSession()
        try {
          session.startTransaction(transactionOptions)
          const result = await read(createView(db, session))
          await session.commitTransaction()
          return result
        } finally {
          if (session.inTransaction()) await session.abortTransaction().catch(() => undefined)
          await session.endSession()
        }
      }),

    close: () => client.close(),
  }
}

const ignoreNamespaceExists = (err: unknown): void => {
  if ((err as { code?: unknown }).code !== 48) throw err
}
