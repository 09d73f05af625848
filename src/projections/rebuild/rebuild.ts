import type { EventStore } from '../../infra/eventstore/port'
import type { ReadModelStore } from '../../infra/readmodel/port'
import type { Projection } from '../projection'
import { Meter, RebuildPhase, type ProgressListener } from './meter'
import { DEFAULT_REBUILD_BATCH, replay } from './replay'
import { shadowOf, swapsOf } from './shadow'

export interface RebuildOptions {
  events: EventStore
  readModels: ReadModelStore
  projection: Projection
  /** Most events per shadow commit; default `DEFAULT_REBUILD_BATCH`. */
  batchSize?: number
  /** Told after each batch and at each change of phase; default none. */
  onProgress?: ProgressListener
  /** Clock for the elapsed time; default `Date.now`. */
  now?: () => number
}

export interface RebuildResult {
  projection: string
  /** Events replayed into the shadow, the final catch-up included. */
  events: number
  /** Documents written to the shadow. */
  docs: number
  /** The live checkpoint and generation right after the switch-over. */
  position: bigint | undefined
  generation: number
  elapsedMs: number
}

/**
 * Replays the whole log into fresh shadow collections beside the live ones, while a server may
 * go on serving from (and writing to) the live ones, then switches over atomically: in one
 * transaction, the final catch-up to the log's head, the shadow collections replacing the live
 * ones, the live checkpoint moved to the shadow's and its generation incremented. A runner
 * still following the old collections has its next batch refused and follows on from the new
 * checkpoint (see `startProjection`).
 *
 * One rebuild or verification per projection at a time: a second one claims the shadow and
 * makes the first fail with `ReadModelGenerationError` rather than switch over a mixed shadow.
 * A failed rebuild leaves its shadow behind, unused; the next claim drops it.
 */
export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { events, readModels, projection, batchSize = DEFAULT_REBUILD_BATCH } = options
  const shadow = shadowOf(projection)
  const meter = new Meter(projection.name, options.onProgress, options.now)

  // 1. Claim empty shadow collections, without indexes: a bulk load is faster with none.
  const generation = await readModels.claim(
    shadow.name,
    shadow.collections.map((spec) => spec.name),
  )
  await readModels.ensureCollections(shadow.collections.map((spec) => ({ ...spec, indexes: [] })))
  const batches = { events, projection: shadow, generation, batchSize, meter }

  // 2. The bulk of the log, up to its head as it is now: a busy log is not chased here.
  let head = await events.headPosition()
  meter.enter(RebuildPhase.Replay, head)
  let position = await replay({ ...batches, store: readModels, after: undefined, to: head })

  // 3. Indexes, then what the log gained meanwhile, so the switch has little left to do.
  meter.enter(RebuildPhase.Index)
  await readModels.ensureCollections(shadow.collections)
  head = await events.headPosition()
  meter.enter(RebuildPhase.Replay, head)
  position = await replay({ ...batches, store: readModels, after: position, to: head })

  // 4. Switch over. The head is read once the write lock is held: every live checkpoint is
  // then at or before it, and the shadow's is set to it, so the read model never goes back.
  const state = await readModels.switchOver({
    projection: projection.name,
    shadow: { projection: shadow.name, generation },
    collections: swapsOf(projection),
    async beforeSwitch(tx) {
      head = await events.headPosition()
      meter.enter(RebuildPhase.Switch, head)
      const last = { store: tx, after: position, to: head, yieldBetweenBatches: false }
      const replayed = await replay({ ...batches, ...last })
      // Every event of its categories up to the head is in: say so, even when the last of them
      // came earlier (or was a heartbeat since pruned), so the live checkpoint cannot go back.
      if (head > (replayed ?? 0n)) await tx.commit(shadow.name, [], head, { generation })
    },
  })

  const { events: replayed, docs, elapsedMs } = meter.progress()
  return { projection: projection.name, events: replayed, docs, ...state, elapsedMs }
}
