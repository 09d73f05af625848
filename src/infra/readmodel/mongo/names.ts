import { ObjectId, type ClientSession, type Db } from 'mongodb'
import type { Logger } from '../../logging/logger'
import { ReadModelNoCollectionError } from './errors'

/** The store's own collections beside the read models, so no read model may take their names. */
export const CHECKPOINTS = 'checkpoints'
export const ALIASES = 'aliases'
export const RETIRED = 'retired_collections'
const RESERVED = new Set([CHECKPOINTS, ALIASES, RETIRED])

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Collections and fields must be plain names, as on the embedded store. */
export function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`invalid read-model identifier: ${name}`)
  return name
}

export function collectionName(name: string): string {
  if (RESERVED.has(identifier(name))) throw new Error(`invalid read-model collection: ${name}`)
  return name
}

interface AliasDoc {
  _id: string
  physical: string
}

interface RetiredDoc {
  _id: string
  retiredAt: Date
}

/**
 * Each read-model collection (the port's name) is served by a physical collection that an alias
 * document names: `aliases` holds `{ _id: name, physical }`. A new collection is its own
 * physical collection; a claim gives it a fresh one (`<name>__<ObjectId>`) and a switch-over
 * points the live name at the shadow's, in the switch's transaction, which MongoDB cannot do
 * by renaming. Physical collections a switch-over replaced are listed in `retired_collections`
 * and dropped once no reader can still be using them (see `dropRetired`).
 */
export class Aliases {
  constructor(private readonly db: Db) {}

  private get aliases() {
    return this.db.collection<AliasDoc>(ALIASES)
  }

  private get retired() {
    return this.db.collection<RetiredDoc>(RETIRED)
  }

  /** Every alias, read once per transaction. */
  async all(session?: ClientSession): Promise<Map<string, string>> {
    const docs = await this.aliases.find({}, { session }).toArray()
    return new Map(docs.map((doc) => [doc._id, doc.physical]))
  }

  /** The physical collection serving `name`; throws if no `ensureCollections` created it. */
  async resolve(name: string, session?: ClientSession): Promise<string> {
    const alias = await this.aliases.findOne({ _id: collectionName(name) }, { session })
    if (alias === null) throw new ReadModelNoCollectionError(name)
    return alias.physical
  }

  /** The physical collection of `name`, creating its alias if it has none. */
  async ensure(name: string): Promise<string> {
    const existing = await this.aliases.findOne({ _id: name })
    if (existing !== null) return existing.physical

    // The plain name, unless a switch-over made it another collection's physical collection.
    const taken = await this.aliases.findOne({ physical: name })
    const physical = taken === null ? name : fresh(name)
    // Two nodes starting at once both upsert; the first insert wins and both read it back.
    await this.aliases.updateOne({ _id: name }, { $setOnInsert: { physical } }, { upsert: true })
    return (await this.aliases.findOne({ _id: name }))?.physical ?? physical
  }

  async point(name: string, physical: string, session: ClientSession): Promise<void> {
    await this.aliases.replaceOne({ _id: name }, { physical }, { upsert: true, session })
  }

  async remove(name: string, session: ClientSession): Promise<void> {
    await this.aliases.deleteOne({ _id: name }, { session })
  }

  /** Lists a physical collection to drop; `at` in the past makes it due at once. */
  async retire(physical: string, session: ClientSession, at = new Date()): Promise<void> {
    const doc = { retiredAt: at }
    await this.retired.replaceOne({ _id: physical }, doc, { upsert: true, session })
  }

  /**
   * Drops physical collections retired more than `graceMs` ago. A reader resolves an alias and
   * then reads, in two steps; the grace keeps the old collection readable for one that resolved
   * it just before a switch-over, so it sees the old documents rather than none.
   */
  async dropRetired(graceMs: number, log: Logger): Promise<void> {
    const before = new Date(Date.now() - graceMs)
    const due = await this.retired.find({ retiredAt: { $lt: before } }).toArray()
    for (const { _id: physical } of due) {
      try {
        await this.db.collection(physical).drop()
        await this.retired.deleteOne({ _id: physical })
      } catch (err) {
        log.warn({ err, physical }, 'retired read-model collection not dropped')
      }
    }
  }
}

/** A physical collection name no other collection has: `<name>__<ObjectId>`. */
export const fresh = (name: string): string => `${name}__${new ObjectId().toHexString()}`
