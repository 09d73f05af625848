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

/**
 * An open transaction. `pinned` holds, for each collection another writer committed to since it
 * began, the collection as it was then: what the transaction keeps reading (its snapshot).
 * `saved` holds, for each collection it wrote itself, the state before, for a rollback.
 */
interface Transaction {
  txnNumber: number
  pinned: Map<string, Collection | undefined>
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

// Documents are never changed in place (an update stores a new object), so copying the map keeps
// a version of a collection.
const copyOf = (collection: Collection | undefined): Collection | undefined =>
  collection && { docs: new Map(collection.docs), indexes: [...collection.indexes] }

/**
 * The double's data: collections by namespace (`db.collection`) and the open transactions, by
 * session. Transactions read a snapshot: a collection another writer commits to after one began
 * is pinned for it as it was. One transaction at a time may write: the first write of a second
 * one waits until the first ends, and fails with a WriteConflict (the driver retries the
 * transaction) if a collection it writes was changed since it began. Writes outside any
 * transaction wait for the writing one too. Other readers see committed data only.
 */
export class State {
  private readonly namespaces = new Map<string, Collection>()
  private readonly transactions = new Map<string, Transaction>()
  /** The session whose transaction holds the write lock. */
  private writer: string | undefined
  private readonly lastCommitted = new Map<string, number>()
  private waiters: (() => void)[] = []

  /** The collection as `txn` (a session in a transaction, or none) sees it. */
  read(ns: string, txn: string | undefined): Collection | undefined {
    const own = txn === undefined ? undefined : this.transactions.get(txn)
    if (own?.pinned.has(ns)) return own.pinned.get(ns)
    if (this.writer !== undefined && this.writer !== txn) {
      const saved = this.transactions.get(this.writer)?.saved
      if (saved?.has(ns)) return saved.get(ns)
    }
    return this.namespaces.get(ns)
  }

  /** Resolves once `txn` may write: it holds the write lock, or nobody does for a plain write. */
  async acquire(txn: string | undefined): Promise<void> {
    while (this.writer !== undefined && this.writer !== txn) await this.waitForWriter()
    if (txn !== undefined) this.writer = txn
  }

  /** The collection to write (after `acquire`), created if missing. */
  write(ns: string, txn: string | undefined): Collection {
    this.beforeWrite(ns, txn)
    let collection = this.namespaces.get(ns)
    if (collection === undefined) {
      collection = { docs: new Map(), indexes: [ID_INDEX] }
      this.namespaces.set(ns, collection)
    }
    return collection
  }

  drop(ns: string, txn: string | undefined): boolean {
    this.beforeWrite(ns, txn)
    return this.namespaces.delete(ns)
  }

  names(db: string, txn: string | undefined): string[] {
    const prefix = `${db}.`
    const all = new Set([...this.namespaces.keys()])
    for (const ns of [...this.pinnedOrSaved(txn)]) {
      if (this.read(ns, txn)) all.add(ns)
      else all.delete(ns)
    }
    return [...all].filter((ns) => ns.startsWith(prefix)).map((ns) => ns.slice(prefix.length))
  }

  private *pinnedOrSaved(txn: string | undefined): Iterable<string> {
    const own = txn === undefined ? undefined : this.transactions.get(txn)
    if (own) yield* own.pinned.keys()
    if (this.writer !== undefined && this.writer !== txn) {
      yield* this.transactions.get(this.writer)?.saved.keys() ?? []
    }
  }

  private beforeWrite(ns: string, txn: string | undefined): void {
    if (txn === undefined) {
      // A plain write commits at once: every open transaction keeps the version before it.
      for (const other of this.transactions.values()) {
        if (!other.pinned.has(ns)) other.pinned.set(ns, copyOf(this.namespaces.get(ns)))
      }
      return
    }
    const own = this.transactions.get(txn)
    if (own === undefined) return
    if (own.pinned.has(ns)) {
      throw new CommandError(112, 'WriteConflict', `${ns} changed since the transaction began`, [
        'TransientTransactionError',
      ])
    }
    if (!own.saved.has(ns)) own.saved.set(ns, copyOf(this.namespaces.get(ns)))
  }

  begin(session: string, txnNumber: number): void {
    // A new transaction number on the same session aborts the one left open, as the server does.
    if (this.transactions.has(session)) this.end(session, false)
    const expiry = setTimeout(() => this.end(session, false), TRANSACTION_LIFETIME_MS)
    expiry.unref()
    this.transactions.set(session, { txnNumber, pinned: new Map(), saved: new Map(), expiry })
  }

  /** Throws unless `session` has transaction `txnNumber` open. */
  check(session: string, txnNumber: number): void {
    if (this.transactions.get(session)?.txnNumber === txnNumber) return
    throw new CommandError(251, 'NoSuchTransaction', `transaction ${txnNumber} is not open`, [
      'TransientTransactionError',
    ])
  }

  commit(session: string, txnNumber: number): void {
    // A retried commit of a transaction that already committed succeeds again.
    if (this.lastCommitted.get(session) === txnNumber && !this.transactions.has(session)) return
    this.check(session, txnNumber)
    this.lastCommitted.set(session, txnNumber)
    this.end(session, true)
  }

  abort(session: string, txnNumber: number): void {
    this.check(session, txnNumber)
    this.end(session, false)
  }

  private end(session: string, committed: boolean): void {
    const open = this.transactions.get(session)
    if (!open) return
    clearTimeout(open.expiry)
    this.transactions.delete(session)
    for (const [ns, before] of open.saved) {
      if (committed) {
        // The other open transactions keep reading what was there before this commit.
        for (const other of this.transactions.values()) {
          if (!other.pinned.has(ns)) other.pinned.set(ns, before)
        }
      } else if (before) this.namespaces.set(ns, before)
      else this.namespaces.delete(ns)
    }
    if (this.writer === session) {
      this.writer = undefined
      for (const wake of this.waiters.splice(0)) wake()
    }
  }

  private waitForWriter(): Promise<void> {
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
    for (const open of this.transactions.values()) clearTimeout(open.expiry)
    for (const wake of this.waiters.splice(0)) wake()
  }
}
