/**
 * The read-model port: named collections of JSON documents by string key, a small query shape
 * that every backend can serve from an index, and atomic batches that move a projection's
 * checkpoint together with its documents.
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
   * Writes the changes in order and sets the projection's checkpoint. On the embedded store this
   * is one transaction: either all of it is stored or none.
   */
  commit(projection: string, changes: readonly DocChange[], checkpoint: bigint): Promise<void>

  /** The last position a projection committed, or undefined if it never ran. */
  checkpoint(projection: string): Promise<bigint | undefined>

  /** Deletes every document of the collections and the projection's checkpoint (for rebuilds). */
  reset(projection: string, collections: readonly string[]): Promise<void>

  close(): Promise<void>
}
