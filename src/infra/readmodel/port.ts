import { ParleyError } from '../../domain/shared/errors'

/**
 * The read-model port: named collections of JSON documents by string key, a small query shape
 * that every backend can serve from an index, and atomic batches that move a projection's
 * checkpoint together with its documents.
 *
 * Generations. Each checkpoint carries a generation, 0 until the projection's collections are
 * first replaced by a rebuild. A switch-over (`switchOver`) swaps in the rebuilt collections,
 * moves the checkpoint to the rebuild's and increments the generation, all in one atomic step.
 * A writer that computed a batch against the old collections commits with the generation it
 * loaded (`commit(..., { generation })`): the store checks it inside the commit's transaction
 * and refuses the whole batch with `ReadModelGenerationError`, writing nothing, when it changed.
 * The writer then reloads `checkpointState` and follows the log again from that checkpoint.
 * A commit without a generation is not checked. Every backend must give these guarantees;
 * MongoDB (`mongo/`) keeps the generation in the checkpoint document and checks it in the
 * commit's transaction, and, as it cannot rename collections inside one, switches over by
 * flipping an alias (a document naming each collection's physical collection) in that
 * transaction. tests/infra/readmodel/conformance.ts is what every backend must pass.
 */
export type Doc = Record<string, unknown>

/** A document to write, or `doc: null` to delete it. */
export interface DocChange {
  collection: string
  key: string
  doc: Doc | null
}

/** A collection and the indexes its queries need; each index is a list of top-level fields. */
export interface CollectionSpec {
  name: string
  indexes: readonly (readonly string[])[]
}

export type Scalar = string | number | boolean | null

export interface Query {
  collection: string
  /** Equality on top-level fields. */
  where?: Record<string, Scalar>
  /** One range condition on a top-level field. */
  range?: { field: string; gt?: Scalar; gte?: Scalar; lt?: Scalar; lte?: Scalar }
  orderBy?: { field: string; direction?: 'asc' | 'desc' }
  limit?: number
}

/** A projection's checkpoint as a writer loads it, to commit against later. */
export interface CheckpointState {
  /** The last position committed, undefined if it never ran (or was just claimed). */
  position: bigint | undefined
  /** Incremented by every switch-over and every claim; 0 for a checkpoint never replaced. */
  generation: number
}

export interface CommitOptions {
  /**
   * Commit only if the checkpoint is still at this generation; otherwise throw
   * `ReadModelGenerationError` and write nothing. Default: no check.
   */
  generation?: number
  /**
   * Commit only if the checkpoint is still at this position (null: none yet), the one the batch
   * was computed from; otherwise throw `ReadModelCheckpointMovedError` and write nothing.
   * Several nodes may run one projection: a batch folded while another node committed may have
   * read some documents before that commit and some after, so it is refused, and the writer
   * follows on from the other's checkpoint. Default: no check.
   */
  position?: bigint | null
}

/** One stored document with its key, as `entries` lists them. */
export interface Entry {
  key: string
  doc: Doc
}

/** What can be read inside a snapshot or a switch-over's transaction. */
export type ReadModelView = Pick<
  ReadModelStore,
  'get' | 'getMany' | 'find' | 'entries' | 'checkpoint' | 'checkpointState'
>

/** What a switch-over's final catch-up may do inside the switch's transaction. */
export type ReadModelTransaction = ReadModelView & Pick<ReadModelStore, 'commit'>

/** A shadow collection that replaces a live one. */
export interface CollectionSwap {
  live: string
  shadow: string
}

export interface SwitchOverRequest {
  /** The live checkpoint: it takes the shadow's position and its generation is incremented. */
  projection: string
  /** The shadow's checkpoint and the generation its builder claimed it at (see `claim`). */
  shadow: { projection: string; generation: number }
  collections: readonly CollectionSwap[]
  /**
   * Runs first, inside the switch's transaction, while the store refuses every other writer:
   * the rebuild's final catch-up, committed to the shadow through `tx`. Default: none.
   */
  beforeSwitch?(tx: ReadModelTransaction): Promise<void>
}

export const READ_MODEL_GENERATION_CHANGED = 'read_model_generation_changed' as const

/** A commit or switch-over expected a checkpoint's generation that is no longer current. */
export class ReadModelGenerationError extends ParleyError {
  readonly projection: string
  readonly expected: number
  readonly actual: number

  constructor(projection: string, expected: number, actual: number) {
    super(
      READ_MODEL_GENERATION_CHANGED,
      `${projection} is at generation ${actual}, expected ${expected}`,
      { projection, expected, actual },
    )
    this.projection = projection
    this.expected = expected
    this.actual = actual
  }
}

export const READ_MODEL_CHECKPOINT_MOVED = 'read_model_checkpoint_moved' as const

/** A commit expected the checkpoint at a position another writer has moved it from. */
export class ReadModelCheckpointMovedError extends ParleyError {
  readonly projection: string
  readonly expected: bigint | null
  readonly actual: bigint | null

  constructor(projection: string, expected: bigint | null, actual: bigint | null) {
    super(
      READ_MODEL_CHECKPOINT_MOVED,
      `${projection} is at position ${String(actual)}, expected ${String(expected)}`,
      { projection, expected: expected?.toString() ?? null, actual: actual?.toString() ?? null },
    )
    this.projection = projection
    this.expected = expected
    this.actual = actual
  }
}

/**
 * Whether a commit was refused because the checkpoint it was computed against is no longer
 * current (a switch-over, a claim, another writer): reload it and follow the log from there.
 */
export const isStaleCheckpoint = (
  err: unknown,
): err is ReadModelGenerationError | ReadModelCheckpointMovedError =>
  err instanceof ReadModelGenerationError || err instanceof ReadModelCheckpointMovedError

export interface ReadModelStore {
  /** Creates the collections and their indexes if missing. Idempotent. */
  ensureCollections(specs: readonly CollectionSpec[]): Promise<void>

  get(collection: string, key: string): Promise<Doc | undefined>

  /**
   * The documents of one collection stored under these keys, by key; a missing key is absent
   * from the map. Projection runners prefetch a batch's documents with it in one round trip.
   */
  getMany(collection: string, keys: readonly string[]): Promise<Map<string, Doc>>

  find(query: Query): Promise<Doc[]>

  /**
   * One page of a collection's documents with their keys, in ascending key order (Unicode code
   * point order, which is UTF-8 byte order), after `afterKey` if given; default limit 1000.
   */
  entries(collection: string, options?: { afterKey?: string; limit?: number }): Promise<Entry[]>

  /**
   * Writes the changes in order and sets the projection's checkpoint. On the embedded store this
   * is one transaction: either all of it is stored or none. With `options.generation` and
   * `options.position`, the checkpoint is checked in that same transaction (see the module
   * comment).
   */
  commit(
    projection: string,
    changes: readonly DocChange[],
    checkpoint: bigint,
    options?: CommitOptions,
  ): Promise<void>

  /** The last position a projection committed, or undefined if it never ran. */
  checkpoint(projection: string): Promise<bigint | undefined>

  /** The checkpoint and its generation, read together. */
  checkpointState(projection: string): Promise<CheckpointState>

  /** Deletes every document of the collections and the projection's checkpoint (for rebuilds). */
  reset(projection: string, collections: readonly string[]): Promise<void>

  /**
   * Takes a checkpoint for a new builder: drops the collections (the next `ensureCollections`
   * creates them empty), clears the checkpoint's position and increments its generation, which
   * it returns. A builder commits with that generation, so a later claim stops an earlier
   * builder of the same shadow. With `options.generation`, only if the checkpoint is still at
   * it (throws `ReadModelGenerationError` otherwise), to release a claim without stealing one.
   */
  claim(
    projection: string,
    collections: readonly string[],
    options?: CommitOptions,
  ): Promise<number>

  /**
   * Replaces live collections with shadow ones in one atomic step: runs `beforeSwitch`, then
   * checks the shadow's claim, replaces each live collection (documents and indexes) with its
   * shadow, sets the live checkpoint to the shadow's position, increments the live generation
   * and ends the shadow's claim. Readers see the old collections or the new ones, never a mix.
   * Throws `ReadModelGenerationError`, changing nothing, when the claim was taken over.
   */
  switchOver(request: SwitchOverRequest): Promise<CheckpointState>

  /**
   * Runs `read` against one consistent point-in-time view of the whole store, so checkpoints
   * and documents read in it belong together; writers elsewhere go on meanwhile.
   */
  snapshot<T>(read: (view: ReadModelView) => Promise<T>): Promise<T>

  close(): Promise<void>
}
