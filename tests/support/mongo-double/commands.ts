import type { Document } from 'bson'
import { find as mingoFind } from 'mingo'
import type { Cursors } from './cursors'
import { hello, MAX_BSON } from './handshake'
import { sortDocs } from './order'
import { cursorId } from './wire'
import { CommandError, type State } from './state'
import { deleteDocs, insertOne, matching, updateDocs, type WriteError } from './writes'

/** What a command runs against: the database it names, its session and transaction. */
export interface Context {
  state: State
  db: string
  session: string | undefined
  /** The session, when the command is part of its transaction. */
  txn: string | undefined
  cursors: Cursors
  /** `host:port` the double answers on, for `hello`. */
  address: string
  connectionId: number
}

type Handler = (cmd: Document, ctx: Context) => Document | Promise<Document>

const ns = (ctx: Context, collection: unknown): string => `${ctx.db}.${String(collection)}`
const ok = (fields: Document = {}): Document => ({ ...fields, ok: 1 })

const cursorReply = (namespace: string, id: number, key: string, docs: Document[]) =>
  ok({ cursor: { id: cursorId(id), ns: namespace, [key]: docs } })

// Statements of a write command one by one; an ordered batch stops at the first error.
async function eachStatement(
  cmd: Document,
  ctx: Context,
  field: string,
  run: (statement: Document, index: number) => void,
): Promise<Document> {
  await ctx.state.acquire(ctx.txn)
  const writeErrors: WriteError[] = []
  const statements = (cmd[field] ?? []) as Document[]
  for (const [index, statement] of statements.entries()) {
    try {
      run(statement, index)
    } catch (err) {
      // A transaction's conflict fails the whole command, with its label, as on the server.
      if (!(err instanceof CommandError) || err.labels.length > 0) throw err
      writeErrors.push({ index, code: err.code, errmsg: err.message })
      if (cmd.ordered !== false) break
    }
  }
  return writeErrors.length > 0 ? { writeErrors } : {}
}

const handlers: Record<string, Handler> = {
  hello,
  ismaster: hello,
  isMaster: hello,
  ping: () => ok(),
  buildInfo: () =>
    ok({ version: '7.0.0', versionArray: [7, 0, 0, 0], maxBsonObjectSize: MAX_BSON }),
  endSessions: () => ok(),
  killSessions: () => ok(),

  commitTransaction(cmd, ctx) {
    ctx.state.commit(ctx.session ?? '', Number(cmd.txnNumber))
    return ok()
  },
  abortTransaction(cmd, ctx) {
    ctx.state.abort(ctx.session ?? '', Number(cmd.txnNumber))
    return ok()
  },

  async create(cmd, ctx) {
    await ctx.state.acquire(ctx.txn)
    if (ctx.state.read(ns(ctx, cmd.create), ctx.txn)) {
      throw new CommandError(48, 'NamespaceExists', `collection ${ns(ctx, cmd.create)} exists`)
    }
    ctx.state.write(ns(ctx, cmd.create), ctx.txn)
    return ok()
  },

  async drop(cmd, ctx) {
    await ctx.state.acquire(ctx.txn)
    // Since MongoDB 7.0 dropping a missing collection succeeds.
    ctx.state.drop(ns(ctx, cmd.drop), ctx.txn)
    return ok({ ns: ns(ctx, cmd.drop) })
  },

  async dropDatabase(_cmd, ctx) {
    await ctx.state.acquire(ctx.txn)
    for (const name of ctx.state.names(ctx.db, undefined)) ctx.state.drop(ns(ctx, name), undefined)
    return ok()
  },

  listCollections(cmd, ctx) {
    const infos = ctx.state
      .names(ctx.db, ctx.txn)
      .map((name) => ({ name, type: 'collection', options: {}, info: { readOnly: false } }))
    const docs = mingoFind(infos, (cmd.filter ?? {}) as Document).all() as Document[]
    return cursorReply(`${ctx.db}.$cmd.listCollections`, 0, 'firstBatch', docs)
  },

  async createIndexes(cmd, ctx) {
    await ctx.state.acquire(ctx.txn)
    const existed = ctx.state.read(ns(ctx, cmd.createIndexes), ctx.txn) !== undefined
    const collection = ctx.state.write(ns(ctx, cmd.createIndexes), ctx.txn)
    const before = collection.indexes.length
    for (const spec of cmd.indexes as Document[]) {
      const sameName = collection.indexes.find((index) => index.name === spec.name)
      const sameKey = collection.indexes.find(
        (index) => JSON.stringify(index.key) === JSON.stringify(spec.key),
      )
      if (sameName && sameName !== sameKey) {
        throw new CommandError(86, 'IndexKeySpecsConflict', `index ${spec.name} has another key`)
      }
      if (sameKey && sameKey !== sameName) {
        throw new CommandError(85, 'IndexOptionsConflict', `index ${sameKey.name} has this key`)
      }
      if (!sameName) {
        const index = { name: String(spec.name), key: spec.key as Document, unique: spec.unique }
        collection.indexes = [...collection.indexes, index]
      }
    }
    return ok({
      numIndexesBefore: before,
      numIndexesAfter: collection.indexes.length,
      createdCollectionAutomatically: !existed,
    })
  },

  listIndexes(cmd, ctx) {
    const collection = ctx.state.read(ns(ctx, cmd.listIndexes), ctx.txn)
    if (!collection) throw new CommandError(26, 'NamespaceNotFound', 'ns does not exist')
    const docs = collection.indexes.map(({ name, key, unique }) => ({ v: 2, key, name, unique }))
    return cursorReply(ns(ctx, cmd.listIndexes), 0, 'firstBatch', docs)
  },

  async insert(cmd, ctx) {
    let n = 0
    const collection = () => ctx.state.write(ns(ctx, cmd.insert), ctx.txn)
    const result = await eachStatement(cmd, ctx, 'documents', (doc) => {
      insertOne(collection(), doc)
      n++
    })
    return ok({ n, ...result })
  },

  async update(cmd, ctx) {
    let n = 0
    let nModified = 0
    const upserted: Document[] = []
    const result = await eachStatement(cmd, ctx, 'updates', (statement, index) => {
      const collection = ctx.state.write(ns(ctx, cmd.update), ctx.txn)
      const outcome = updateDocs(collection, statement)
      if (outcome.upsertedId !== undefined) upserted.push({ index, _id: outcome.upsertedId })
      n += outcome.n
      nModified += outcome.nModified
    })
    return ok({ n, nModified, ...(upserted.length > 0 ? { upserted } : {}), ...result })
  },

  async delete(cmd, ctx) {
    let n = 0
    const result = await eachStatement(cmd, ctx, 'deletes', (statement) => {
      const collection = ctx.state.read(ns(ctx, cmd.delete), ctx.txn)
      if (collection) ctx.state.write(ns(ctx, cmd.delete), ctx.txn)
      n += deleteDocs(ctx.state.read(ns(ctx, cmd.delete), ctx.txn), statement)
    })
    return ok({ n, ...result })
  },

  find(cmd, ctx) {
    const namespace = ns(ctx, cmd.find)
    const found = matching(ctx.state.read(namespace, ctx.txn), cmd.filter as Document)
    const docs = cmd.sort ? sortDocs(found, cmd.sort as Record<string, number>) : found
    let cursor = mingoFind(docs, {}, cmd.projection as Document | undefined)
    if (cmd.skip) cursor = cursor.skip(Number(cmd.skip))
    if (cmd.limit) cursor = cursor.limit(Math.abs(Number(cmd.limit)))
    const all = cursor.all() as Document[]
    const single = cmd.singleBatch === true || Number(cmd.limit) < 0
    const { id, first } = ctx.cursors.start(namespace, all, cmd.batchSize as number, single)
    return cursorReply(namespace, id, 'firstBatch', first)
  },

  getMore(cmd, ctx) {
    const { ns: namespace, batch, id } = ctx.cursors.more(Number(cmd.getMore), cmd.batchSize)
    return cursorReply(namespace, id, 'nextBatch', batch)
  },

  killCursors(cmd, ctx) {
    const ids = (cmd.cursors as unknown[]).map(Number)
    const killed = ctx.cursors.kill(ids)
    const notFound = ids.filter((id) => !killed.includes(id))
    return ok({
      cursorsKilled: killed.map(cursorId),
      cursorsNotFound: notFound.map(cursorId),
      cursorsAlive: [],
      cursorsUnknown: [],
    })
  },
}

/** Runs one command; any failure comes back as the server's `ok: 0` reply. */
export async function runCommand(cmd: Document, ctx: Context): Promise<Document> {
  const name = Object.keys(cmd)[0]
  const handler = handlers[name] as Handler | undefined
  try {
    if (handler === undefined) {
      throw new CommandError(59, 'CommandNotFound', `no such command: '${name}'`)
    }
    return await handler(cmd, ctx)
  } catch (err) {
    if (!(err instanceof CommandError)) {
      return { ok: 0, code: 1, codeName: 'InternalError', errmsg: String(err) }
    }
    const labels = err.labels.length > 0 ? { errorLabels: err.labels } : {}
    return { ok: 0, code: err.code, codeName: err.codeName, errmsg: err.message, ...labels }
  }
}
