import type { Test } from 'tap'
import { canonicalJson } from '../../src/domain/conversation/state'
import { createInMemoryEventStore } from '../../src/infra/eventstore/memory'
import type { EventStore } from '../../src/infra/eventstore/port'
import { silentLogger, type Logger } from '../../src/infra/logging/logger'
import type { DocChange, ReadModelStore } from '../../src/infra/readmodel/port'
import { createSqliteReadModelStore } from '../../src/infra/readmodel/sqlite'
import {
  startProjection,
  type Projection,
  type ProjectionRunner,
} from '../../src/projections/projection'
import { allProjections } from '../../src/projections/readmodels'
import { pendingAcksProjection } from '../../src/projections/readmodels/pending-acks'
import { streamOf, type AnyEvent } from './fixture'

/** Runners, stores and crash doubles for the projection runner's integration tests. */

export interface RunOptions {
  projections?: readonly Projection[]
  readModels?: ReadModelStore
  maxBatch?: number
  logger?: Logger
}

/** Runners for the projections over the store, each stopped in teardown. */
export function run(t: Test, events: EventStore, options: RunOptions = {}): ProjectionRunner[] {
  const readModels = options.readModels ?? givenReadModels(t)
  const runners = (options.projections ?? allProjections).map((projection) =>
    startProjection({ events, readModels, projection, ...options }),
  )
  t.teardown(() => Promise.all(runners.map((r) => r.stop())))
  return runners
}

export function givenReadModels(t: Test): ReadModelStore {
  const readModels = createSqliteReadModelStore({ path: ':memory:' })
  t.teardown(() => readModels.close())
  return readModels
}

export function givenEvents(t: Test): EventStore {
  const events = createInMemoryEventStore()
  t.teardown(() => events.close())
  return events
}

/** Appends in order, `burst` at a time without awaiting each; returns the last position. */
export async function append(
  events: EventStore,
  history: readonly AnyEvent[],
  burst = 1,
): Promise<bigint> {
  let last = 0n
  for (let i = 0; i < history.length; i += burst) {
    const chunk = history.slice(i, i + burst)
    const results = await Promise.all(chunk.map((e) => events.appendToStream(streamOf(e), [e])))
    last = results[results.length - 1].position
  }
  return last
}

export const reached = (runners: ProjectionRunner[], position: bigint) =>
  Promise.all(runners.map((r) => r.waitForPosition(position)))

/** Every document of every collection, canonical JSON, sorted: two equal dumps are equal views. */
export async function dump(rm: ReadModelStore, projections = allProjections): Promise<string[]> {
  const all: string[] = []
  for (const { collections } of projections) {
    for (const { name } of collections) {
      for (const doc of await rm.find({ collection: name }))
        all.push(`${name} ${canonicalJson(doc)}`)
    }
  }
  return all.sort()
}

/** The same view built from scratch by replaying the whole log into a fresh store. */
export async function rebuild(t: Test, events: EventStore, projections = allProjections) {
  const readModels = givenReadModels(t)
  await Promise.all(run(t, events, { readModels, projections }).map((r) => r.ready))
  return dump(readModels, projections)
}

/**
 * A store that cannot commit atomically: on the `crashAt`-th commit of the pending view it writes
 * part of the documents, then the process "dies" before the checkpoint; every later call fails.
 */
export function crashingStore(inner: ReadModelStore, crashAt: number, keep: (n: number) => number) {
  let commits = 0
  let dead = false
  let died = (): void => {}
  const crashed = new Promise<void>((resolve) => (died = resolve))
  const alive =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (dead) throw new Error('process crashed')
      return f(...args)
    }

  const store: ReadModelStore = {
    ...inner,
    get: alive(inner.get),
    getMany: alive(inner.getMany),
    commit: alive(async (name: string, changes: readonly DocChange[], checkpoint: bigint) => {
      if (name !== pendingAcksProjection.name || ++commits < crashAt) {
        return inner.commit(name, changes, checkpoint)
      }
      dead = true
      // Documents land under another checkpoint row: this projection's own never moves.
      await inner.commit('crash-simulation', changes.slice(0, keep(changes.length)), 0n)
      died()
      throw new Error('process crashed before the checkpoint')
    }),
  }
  return { store, crashed }
}

/** A logger that keeps the messages logged at `error`, and drops the rest. */
export function errorLogger(): { logger: Logger; errors: string[] } {
  const errors: string[] = []
  const logger: Logger = {
    ...silentLogger,
    error: (_, msg) => errors.push(msg),
    child: () => logger,
  }
  return { logger, errors }
}
