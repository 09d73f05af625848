import type { CollectionSwap } from '../../infra/readmodel/port'
import type { DocRef, Projection } from '../projection'

/** What a shadow's collections and checkpoint are called: the live name plus this suffix. */
export const SHADOW_SUFFIX = '__shadow'

/** The shadow of a collection or checkpoint name. */
export const shadowName = (name: string): string => `${name}${SHADOW_SUFFIX}`

/**
 * The same projection writing to shadow collections under a shadow checkpoint, beside the live
 * ones in the same store. `apply` still sees the live names, so its output is the live
 * projection's, byte for byte.
 */
export function shadowOf(projection: Projection): Projection {
  const toShadow = <T extends DocRef>(ref: T): T => ({
    ...ref,
    collection: shadowName(ref.collection),
  })

  return {
    name: shadowName(projection.name),
    collections: projection.collections.map((spec) => ({ ...spec, name: shadowName(spec.name) })),
    categories: projection.categories,
    reads: (event) => projection.reads(event).map(toShadow),
    apply: (event, read) =>
      projection.apply(event, (collection, key) => read(shadowName(collection), key)).map(toShadow),
  }
}

/** Each live collection of the projection with the shadow collection that replaces it. */
export const swapsOf = (projection: Projection): CollectionSwap[] =>
  projection.collections.map(({ name }) => ({ live: name, shadow: shadowName(name) }))
