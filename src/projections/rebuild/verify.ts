import { ParleyError } from '../../domain/shared/errors'
import type { EventStore } from '../../infra/eventstore/port'
import {
  ReadModelGenerationError,
  type Doc,
  type Entry,
  type ReadModelStore,
  type ReadModelView,
} from '../../infra/readmodel/port'
import { projectBatch } from '../batch'
import type { Projection } from '../projection'
import { diffCollections, overlaid, type Difference } from './compare'
import { Meter, RebuildPhase, type ProgressListener } from './meter'
import { DEFAULT_REBUILD_BATCH, readBatch, replay } from './replay'
import { shadowOf, swapsOf } from './shadow'

/** Most replay passes that chase a live checkpoint still moving before comparing: 3. */
export const MAX_CATCH_UP_PASSES = 3
/** Documents read per page while comparing: 500. */
export const COMPARE_PAGE_SIZE = 500

export interface VerifyOptions {
  events: EventStore
  readModels: ReadModelStore
  projection: Projection
  /** Most events per shadow commit; default `DEFAULT_REBUILD_BATCH`. */
  batchSize?: number
  /** Told after each batch and at each change of phase; default none. */
  onProgress?: ProgressListener
  /** Told about each document that differs, as it is found; default none. */
  onDifference?: (difference: Difference) => void
  /** Clock for the elapsed time; default `Date.now`. */
  now?: () => number
}

export interface VerifyResult {
  projection: string
  /** The live checkpoint both sides were compared at (0n for a projection that never ran). */
  position: bigint
  differences: number
  /** Documents on each side, every collection of the projection together. */
  live: number
  rebuilt: number
  /** Events replayed into the shadow. */
  events: number
  elapsedMs: number
}

export const CHECKPOINT_MOVED_BACK = 'checkpoint_moved_back' as const

/** A live checkpoint went back while a verification was chasing it; run it again. */
export class CheckpointMovedBackError extends ParleyError {
  constructor(projection: string, from: bigint, to: bigint) {
    super(CHECKPOINT_MOVED_BACK, `${projection}'s checkpoint moved back from ${from} to ${to}`, {
      projection,
      from: from.toString(),
      to: to.toString(),
    })
  }
}

/** A collection's entries in key order, a page at a time. */
async function* scan(view: ReadModelView, collection: string): AsyncGenerator<Entry> {
  let afterKey: string | undefined
  for (;;) {
    const page = await view.entries(collection, { afterKey, limit: COMPARE_PAGE_SIZE })
    yield* page
    if (page.length < COMPARE_PAGE_SIZE) return
    afterKey = page[page.length - 1].key
  }
}

interface Shadow {
  events: EventStore
  readModels: ReadModelStore
  live: Projection
  projection: Projection
  generation: number
  batchSize: number
  meter: Meter
}

/**
 * Replays the log into the shadow up to the live checkpoint, never past it, a few times while
 * that checkpoint moves on. Resolves to the live checkpoint the shadow has reached.
 */
async function chaseLiveCheckpoint(shadow: Shadow): Promise<bigint> {
  const { events, live, readModels, projection, generation, batchSize, meter } = shadow
  const store = readModels
  let covered = 0n
  let last: bigint | undefined
  for (let pass = 0; pass < MAX_CATCH_UP_PASSES; pass++) {
    const target = (await readModels.checkpoint(live.name)) ?? 0n
    if (target < covered) throw new CheckpointMovedBackError(live.name, covered, target)
    if (pass > 0 && target === covered) break

    const options = { events, store, projection, generation, batchSize, meter }
    last = await replay({ ...options, after: last, to: target })
    covered = target
  }
  return covered
}

/**
 * Compares both sides in one snapshot of the store. Whatever the live side committed after
 * `covered` is replayed onto the shadow's documents in memory first, so both stand at the same
 * position.
 */
async function compareInSnapshot(
  shadow: Shadow,
  covered: bigint,
  report: (difference: Difference) => void,
): Promise<{ position: bigint; live: number; rebuilt: number }> {
  const { events, live: projection, projection: replayed, readModels, meter } = shadow

  return readModels.snapshot(async (view) => {
    // 1. The live checkpoint in this snapshot, and the shadow brought to it in memory.
    const position = (await view.checkpoint(projection.name)) ?? 0n
    if (position < covered) throw new CheckpointMovedBackError(projection.name, covered, position)
    const late = await readBatch(events, replayed, covered, position, Number.MAX_SAFE_INTEGER)
    const changes = late.length === 0 ? [] : await projectBatch(replayed, view, late)
    if (late.length > 0) meter.replayed(late.length, changes.length, position)

    const pending = new Map<string, Map<string, Doc | null>>()
    for (const { collection, key, doc } of changes) {
      pending.set(collection, (pending.get(collection) ?? new Map()).set(key, doc))
    }

    // 2. Each collection, side by side in key order.
    const totals = { position, live: 0, rebuilt: 0 }
    for (const swap of swapsOf(projection)) {
      const rebuilt = overlaid(scan(view, swap.shadow), pending.get(swap.shadow) ?? new Map())
      const counts = await diffCollections(swap.live, scan(view, swap.live), rebuilt, report)
      totals.live += counts.live
      totals.rebuilt += counts.rebuilt
    }
    return totals
  })
}

/**
 * Rebuilds a projection into shadow collections, never switched over, and compares them with
 * the live ones at the same log position, reporting each document that differs (the `_pos`
 * stamp aside). Fair while a server keeps writing: see `compareInSnapshot`. The shadow is
 * dropped at the end, whatever the outcome.
 */
export async function verifyProjection(options: VerifyOptions): Promise<VerifyResult> {
  const { events, readModels, projection, batchSize = DEFAULT_REBUILD_BATCH } = options
  const replayed = shadowOf(projection)
  const names = replayed.collections.map((spec) => spec.name)
  const meter = new Meter(projection.name, options.onProgress, options.now)
  const generation = await readModels.claim(replayed.name, names)
  const shadow: Shadow = {
    events,
    readModels,
    live: projection,
    projection: replayed,
    generation,
    batchSize,
    meter,
  }

  try {
    // The live side may never have run. The shadow gets no index: a comparison reads in key
    // order only, which the primary key serves.
    await readModels.ensureCollections(projection.collections)
    await readModels.ensureCollections(names.map((name) => ({ name, indexes: [] })))

    meter.enter(RebuildPhase.Replay, await events.headPosition())
    const covered = await chaseLiveCheckpoint(shadow)

    meter.enter(RebuildPhase.Compare)
    let differences = 0
    const compared = await compareInSnapshot(shadow, covered, (difference) => {
      differences++
      options.onDifference?.(difference)
    })

    const { events: replayedEvents, elapsedMs } = meter.progress()
    const counts = { differences, events: replayedEvents, elapsedMs }
    return { projection: projection.name, ...compared, ...counts }
  } finally {
    // Only our own claim is released: another run may have taken the shadow over meanwhile.
    await readModels.claim(replayed.name, names, { generation }).catch((err: unknown) => {
      if (!(err instanceof ReadModelGenerationError)) throw err
    })
  }
}
