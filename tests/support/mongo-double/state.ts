import { BSON, EJSON, type Document } from 'bson'

/** One index as createIndexes and listIndexes describe it. */
export interface IndexSpec {
  name: string
  key: Document
  unique?: boolean
}

/** Documents by `_id` (canonical EJSON), in insertion order, which is also natural order. */
export interface Collection {
  docs: Map<string, Document>
  indexes: IndexSpec[]
}

/** The open transaction: its session, number and the collections as they were before it. */
interface Transaction {
  session: string
  txnNumber: number
  saved: Map<string, Collection | undefined>
  expiry: NodeJS.Timeout
}

/** Longest a write of another session waits for an open transaction to end: 20 s. */
export const LOCK_WAIT_MS = 20_000
/** A transaction still open after this long is aborted, as the server's lifetime limit: 60 s. */
export const TRANSACTION_LIFETIME_MS = 60_000

/** A server error as the driver reads it: `ok: 0` with a code, name and labels. */
export class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    readonly labels: string[] = [],
  ) {
    super(message)
  }
}

export const idKey = (id: unknown): string => EJSON.stringify({ id }, { relaxed: false })

/** A deep copy that keeps BSON types (ObjectId, Binary, Long) as they are. */
export const clone = (doc: Document): Document =>
  BSON.deserialize(BSON.serialize(doc, { ignoreUndefined: true }), { promoteLongs: true })

const ID_INDEX: IndexSpec = { name: '_id_', key: { _id: 1 } }

/**
 * The double's data: collections by namespace (`db.collection`), and a single transaction at a
 * time. While one is open, writes of other sessions wait for it to end and their reads see the
 * collections as they were before it, so a transaction is isolated and can be rolled back by
 * putting the saved collections back.
 */
export class State {
  private readonly namespaces = new Map<string, Collection>()
  private transaction: Transaction | undefined
  private readonly lastCommitted = new Map<string, number>()
  private waiters: (() => void)[] = []

  /** The collection as `session` should see it; undefined if it does not exist. */
  read(ns: string, inTransaction: boolean): Collection | undefined {
    const open = this.transaction
    if (open && !inTransaction && open.saved.has(ns)) return open.saved.get(ns)
    return this.namespaces.get(ns)
  }

  /** The collection to write, created if missing, its old state saved for a rollback. */
  write(ns: string, inTransaction: boolean): Collection {
    this.save(ns, inTransaction)
    let collection = this.namespaces.get(ns)
    if (collection === undefined) {
      collection = { docs: new Map(), indexes: [ID_INDEX] }
      this.namespaces.set(ns, collection)
    }
    return collection
  }

  drop(ns: string, inTransaction: boolean): boolean {
    this.save(ns, inTransaction)
    return this.namespaces.delete(ns)
  }

  names(db: string, inTransaction: boolean): string[] {
    const prefix = `${db}.`
    const all = new Set([...this.namespaces.keys()])
    if (this.transaction && !inTransaction) {
      for (const [ns, saved] of this.transaction.saved) {
        if (saved) all.add(ns)
        else all.delete(ns)
      }
    }
    return [...all].filter((ns) => ns.startsWith(prefix)).map((ns) => ns.slice(prefix.length))
  }

  private save(ns: string, inTransaction: boolean): void {
    const open = this.transaction
    if (!open || !inTransaction || open.saved.has(ns)) return
    const current = this.namespaces.get(ns)
    // Documents are never changed in place (an update stores a new object), so copying the map
    // is enough to keep the old versions.
    open.saved.set(ns, current && { docs: new Map(current.docs), indexes: [...current.indexes] })
  }

  /** Resolves once `session` may write outside a transaction. */
  async writable(session: string | undefined): Promise<void> {
    while (this.transaction && this.transaction.session !== session) await this.waitForEnd()
  }

  async begin(session: string, txnNumber: number): Promise<void> {
    // A new transaction number on the same session aborts the one left open, as the server does.
    if (this.transaction?.session === session) this.end(false)
    while (this.transaction) await this.waitForEnd()
    const expiry = setTimeout(() => this.end(false), TRANSACTION_LIFETIME_MS)
    expiry.unref()
    this.transaction = { session, txnNumber, saved: new Map(), expiry }
  }

  /** Throws unless `session` has transaction `txnNumber` open. */
  check(session: string, txnNumber: number): void {
    const open = this.transaction
    if (open?.session === session && open.txnNumber === txnNumber) return
    throw new CommandError(251, 'NoSuchTransaction', `transaction ${txnNumber} is not open`, [
      'TransientTransactionError',
    ])
  }

  commit(session: string, txnNumber: number): void {
    // A retried commit of a transaction that already committed succeeds again.
    if (this.lastCommitted.get(session) === txnNumber && this.transaction?.session !== session) {
      return
    }
    this.check(session, txnNumber)
    this.lastCommitted.set(session, txnNumber)
    this.end(true)
  }

  abort(session: string, txnNumber: number): void {
    this.check(session, txnNumber)
    this.end(false)
  }

  private end(committed: boolean): void {
    const open = this.transaction
    if (!open) return
    clearTimeout(open.expiry)
    if (!committed) {
      for (const [ns, saved] of open.saved) {
        if (saved) this.namespaces.set(ns, saved)
        else this.namespaces.delete(ns)
      }
    }
    this.transaction = undefined
    for (const wake of this.waiters.splice(0)) wake()
  }

  private waitForEnd(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake)
        reject(new CommandError(24, 'LockTimeout', 'timed out waiting for a transaction to end'))
      }, LOCK_WAIT_MS)
      const wake = (): void => {
        clearTimeout(timer)
        resolve()
      }
      this.waiters.push(wake)
    })
  }

  close(): void {
    if (this.transaction) clearTimeout(this.transaction.expiry)
    for (const wake of this.waiters.splice(0)) wake()
  }
}
