import type { ClientSession, Db } from 'mongodb'
import { ReadModelGenerationError, type CheckpointState } from '../port'
import { padPosition, unpadPosition } from './documents'
import { CHECKPOINTS } from './names'

/**
 * One document per projection in `checkpoints`: `{ _id: projection, position, generation,
 * commits }`, the position padded as documents' `_pos` (null once claimed). `commits` counts
 * every write, so each commit, claim and switch-over really changes the document: MongoDB
 * detects conflicts between transactions only on documents both write, and two commits of one
 * projection must conflict even when neither moves the position.
 */
export interface CheckpointDoc {
  _id: string
  position: string | null
  generation: number
  commits: number
}

export interface StoredCheckpoint extends CheckpointState {
  commits: number
}

export class Checkpoints {
  constructor(private readonly db: Db) {}

  private get collection() {
    return this.db.collection<CheckpointDoc>(CHECKPOINTS)
  }

  async read(projection: string, session?: ClientSession): Promise<StoredCheckpoint> {
    const doc = await this.collection.findOne({ _id: projection }, { session })
    return {
      position: doc?.position == null ? undefined : unpadPosition(doc.position),
      generation: doc?.generation ?? 0,
      commits: doc?.commits ?? 0,
    }
  }

  /** Reads the checkpoint and, with `expected`, throws unless it is at that generation. */
  async check(projection: string, expected: number | undefined, session: ClientSession) {
    const state = await this.read(projection, session)
    if (expected !== undefined && state.generation !== expected) {
      throw new ReadModelGenerationError(projection, expected, state.generation)
    }
    return state
  }

  /**
   * Writes the checkpoint read earlier in the same transaction as `before`. The filter on
   * `commits` makes it conditional: should another writer have changed the document meanwhile
   * outside any snapshot, nothing is written and the caller's transaction fails.
   */
  async write(
    projection: string,
    before: StoredCheckpoint,
    next: CheckpointState,
    session: ClientSession,
  ): Promise<void> {
    const doc = {
      position: next.position === undefined ? null : padPosition(next.position),
      generation: next.generation,
      commits: before.commits + 1,
    }
    const filter =
      before.commits === 0 ? { _id: projection } : { _id: projection, commits: before.commits }
    const result = await this.collection.replaceOne(filter, doc, {
      upsert: before.commits === 0,
      session,
    })
    if (result.matchedCount + result.upsertedCount === 0) {
      throw new Error(`checkpoint ${projection} changed during its transaction`)
    }
  }

  async remove(projection: string, session: ClientSession): Promise<void> {
    await this.collection.deleteOne({ _id: projection }, { session })
  }
}
