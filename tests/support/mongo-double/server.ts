/**
 * TEST-ONLY: an in-memory MongoDB double that speaks the wire protocol (OP_MSG, plus OP_QUERY
 * for the driver's first handshake), so the real `mongodb` driver and the read-model adapter run
 * against it unchanged. It evaluates filters, projections, sorts and update operators (pipeline
 * updates included) with `mingo`, and presents itself as the primary of a single-node replica
 * set `rs0`, so sessions and transactions are allowed. Connect with `directConnection=true`.
 *
 * Commands: hello/isMaster, ping, buildInfo, endSessions, create, drop, dropDatabase,
 * listCollections, createIndexes, listIndexes, insert, update, delete, find, getMore,
 * killCursors, and the transaction fields (`startTransaction`, `autocommit`, `txnNumber`) with
 * commitTransaction and abortTransaction. Anything else answers CommandNotFound (59).
 *
 * Where it cannot mimic the server:
 * - Transactions read a snapshot and roll back, but conflicts are per collection, not per
 *   document, and only one transaction writes at a time: the first write of another waits (up
 *   to `LOCK_WAIT_MS`) for it to end, then fails with WriteConflict (TransientTransactionError,
 *   so the driver retries) if a collection it writes changed since it began. Writes outside
 *   transactions wait for the writing one too. Outside transactions, read concerns are
 *   ignored: a read sees the latest committed state.
 * - No authentication, TLS, compression, write concern (every write is "durable" at once),
 *   oplog, change streams, aggregation command, collations, or `$clusterTime` gossip.
 * - Indexes are recorded (createIndexes, listIndexes, conflicts by name and key) but never used
 *   or enforced: every query scans; only `_id` is unique.
 * - Sorts compare strings by UTF-8 bytes, as the server, but filters (`$gt`, `$lt`, ...)
 *   evaluate in mingo, which compares strings by UTF-16 code units: they disagree only for
 *   characters beyond U+FFFF against U+E000-U+FFFF. Mixed-type comparisons in filters follow
 *   mingo, close to BSON order but not exact; sorts know only the common BSON types.
 * - Nothing persists: closing the double loses every document.
 */
import { createServer, type Socket } from 'node:net'
import type { Document } from 'bson'
import { runCommand } from './commands'
import { Cursors } from './cursors'
import { State } from './state'
import { encodeReply, readMessages, type Request } from './wire'

export interface MongoDouble {
  /** `mongodb://127.0.0.1:<port>/?directConnection=true`. */
  url: string
  close(): Promise<void>
}

const sessionOf = (cmd: Document): string | undefined => {
  const id = (cmd.lsid as { id?: { toString(format: string): string } } | undefined)?.id
  return id?.toString('hex')
}

let connections = 0

interface Connection {
  socket: Socket
  cursors: Cursors
  id: number
}

async function answer(request: Request, state: State, { socket, cursors, id }: Connection) {
  const { command } = request
  const session = sessionOf(command)
  const inTransaction = command.autocommit === false
  const name = Object.keys(command)[0]
  const address = `127.0.0.1:${(socket.localPort ?? 0).toString()}`
  const ctx = {
    state,
    db: String(command.$db ?? 'admin'),
    session,
    txn: inTransaction ? session : undefined,
    cursors,
    address,
    connectionId: id,
  }

  let reply: Document
  try {
    const txnNumber = Number(command.txnNumber)
    const ends = name === 'commitTransaction' || name === 'abortTransaction'
    if (inTransaction && session !== undefined && !ends) {
      if (command.startTransaction === true) state.begin(session, txnNumber)
      else state.check(session, txnNumber)
    }
    reply = await runCommand(command, ctx)
  } catch (err) {
    const {
      code = 1,
      codeName = 'InternalError',
      labels = [],
    } = err as {
      code?: number
      codeName?: string
      labels?: string[]
    }
    reply = { ok: 0, code, codeName, errmsg: String((err as Error).message), errorLabels: labels }
  }
  if (!request.moreToCome && !socket.destroyed) socket.write(encodeReply(request, reply))
}

/** Starts a double on a free port of 127.0.0.1; `close` ends its connections and data. */
export async function startMongoDouble(): Promise<MongoDouble> {
  const state = new State()
  const sockets = new Set<Socket>()

  const server = createServer((socket) => {
    sockets.add(socket)
    const connection = { socket, cursors: new Cursors(), id: ++connections }
    let pending: Buffer = Buffer.alloc(0)
    // One request at a time per connection, as the driver never pipelines on one socket.
    let queue = Promise.resolve()
    socket.on('data', (chunk) => {
      let parsed
      try {
        parsed = readMessages(Buffer.concat([pending, chunk]))
      } catch {
        socket.destroy()
        return
      }
      pending = parsed.rest
      for (const request of parsed.requests) {
        queue = queue
          .then(() => answer(request, state, connection))
          .catch(() => {
            socket.destroy()
          })
      }
    })
    socket.on('error', () => socket.destroy())
    socket.on('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as { port: number }

  return {
    url: `mongodb://127.0.0.1:${port.toString()}/?directConnection=true`,
    async close() {
      for (const socket of sockets) socket.destroy()
      state.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
