import { setImmediate as nextTurn } from 'node:timers/promises'
import type { EventStore, RecordedEvent } from '../../infra/eventstore/port'
import type { ReadModelStore } from '../../infra/readmodel/port'
import { projectBatch } from '../batch'
import type { Projection } from '../projection'
import type { Meter } from './meter'

/** Default most events one replay batch (one shadow commit) takes: 1000. */
export const DEFAULT_REBUILD_BATCH = 1000

export interface ReplayOptions {
  events: EventStore
  /** The store, or a switch-over's open transaction. */
  store: Pick<ReadModelStore, 'getMany' | 'commit'>
  /** The shadow projection (see `shadowOf`). */
  projection: Projection
  /** The generation the shadow was claimed at: a later claim makes the next commit throw. */
  generation: number
  /** Exclusive; undefined replays from the start of the log. */
  after: bigint | undefined
  /** Inclusive; default wherever the log ends while replaying. */
  to?: bigint
  batchSize: number
  meter: Meter
  /**
   * Let the event loop run between batches; default true. A replay inside a switch-over holds
   * the write lock, and a writer of this process waiting for it would block the whole process.
   */
  yieldBetweenBatches?: boolean
}

/** The next batch of the projection's events after `after`, none past `to`. */
export async function readBatch(
  events: EventStore,
  projection: Projection,
  after: bigint | undefined,
  to: bigint | undefined,
  maxCount: number,
): Promise<RecordedEvent[]> {
  const batch: RecordedEvent[] = []
  for await (const event of events.readAll({
    after,
    categories: projection.categories,
    maxCount,
  })) {
    if (to !== undefined && event.position > to) break
    batch.push(event)
  }
  return batch
}

/**
 * Replays the log into a shadow, one commit of documents and checkpoint per batch, and returns
 * the position of the last event replayed (`after` when there was none).
 */
export async function replay(options: ReplayOptions): Promise<bigint | undefined> {
  const { events, store, projection, generation, to, batchSize, meter } = options
  let after = options.after

  for (;;) {
    const batch = await readBatch(events, projection, after, to, batchSize)
    if (batch.length === 0) return after

    const changes = await projectBatch(projection, store, batch)
    const last = batch[batch.length - 1].position
    await store.commit(projection.name, changes, last, { generation })
    after = last
    meter.replayed(batch.length, changes.length, last)
    if (options.yieldBetweenBatches ?? true) await nextTurn()
  }
}
