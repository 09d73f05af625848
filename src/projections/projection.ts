import { concat, concatMap, defer, retry, throwError, timer } from 'rxjs'
import type { EventStore, RecordedEvent } from '../infra/eventstore/port'
import { silentLogger, type Logger } from '../infra/logging/logger'
import {
  isStaleCheckpoint,
  ReadModelGenerationError,
  type CollectionSpec,
  type Doc,
  type DocChange,
  type ReadModelStore,
} from '../infra/readmodel/port'
import { bufferAvailable, docId, projectBatch } from './batch'
import { createPositionWaiters, ProjectionStoppedError } from './progress'

/** A document a projection reads or writes. */
export interface DocRef {
  collection: string
  key: string
}

/** What `apply` sees: the stored document with the batch's earlier changes laid over it. */
export type DocReader = (collection: string, key: string) => Doc | undefined

/**
 * A read model built from the log. `apply` is pure: the same event and documents always give
 * the same changes, so the runner, a rebuild and an in-memory mirror all agree.
 */
export interface Projection {
  /** Names the checkpoint; renaming it rebuilds the read model from the start of the log. */
  name: string
  collections: readonly CollectionSpec[]
  /** Stream categories it reads; events of other categories never reach `apply`. */
  categories: readonly string[]
  /**
   * Every document `apply` will read for this event, plus those it writes when their keys are
   * known from the event: the runner prefetches them for the whole batch in one round trip.
   */
  reads(event: RecordedEvent): DocRef[]
  apply(event: RecordedEvent, read: DocReader): DocChange[]
}

export { docId, POSITION_FIELD } from './batch'
export * from './progress'

/**
 * Runs one event through a projection against an in-memory mirror (keys `collection/key`), for
 * components that need the same view without a store. Returns the changes it made.
 */
export function applyToMemory(
  projection: Projection,
  docs: Map<string, Doc>,
  event: RecordedEvent,
): DocChange[] {
  const changes = projection.apply(event, (collection, key) => docs.get(docId(collection, key)))
  for (const { collection, key, doc } of changes) {
    if (doc === null) docs.delete(docId(collection, key))
    else docs.set(docId(collection, key), doc)
  }
  return changes
}

/** Default most events one batch (and so one read-model transaction) takes: 500. */
export const DEFAULT_MAX_BATCH = 500
/** Default time `waitForPosition` waits before it rejects: 5 s. */
export const DEFAULT_WAIT_TIMEOUT_MS = 5_000
/** First retry delay after a failure (50 ms), doubled per attempt up to `RETRY_CAP_MS` (5 s). */
/** Default longest `stop` waits for the events committed before it to be projected: 2 s. */
export const DEFAULT_STOP_DRAIN_MS = 2_000
export const RETRY_BASE_MS = 50
export const RETRY_CAP_MS = 5_000

export interface StartProjectionOptions {
  events: EventStore
  readModels: ReadModelStore
  projection: Projection
  /** Default `silentLogger`. */
  logger?: Logger
  /** Most events per batch; default `DEFAULT_MAX_BATCH`. */
  maxBatch?: number
}

export interface ProjectionRunner {
  /** Resolves once every event up to the log's head as seen at start is in the read model. */
  ready: Promise<void>
  /**
   * Resolves once every event of the projection's categories up to `position` is in the read
   * model; rejects after `timeoutMs` (default `DEFAULT_WAIT_TIMEOUT_MS`).
   */
  waitForPosition(position: bigint, timeoutMs?: number): Promise<void>
  /** The last committed checkpoint, 0n before the first. */
  position(): bigint
  /**
   * Projects what the log held when called (waiting at most `DEFAULT_STOP_DRAIN_MS`), then
   * unsubscribes and resolves once the batch in flight, if any, is committed or failed.
   */
  stop(): Promise<void>
}

const backoff = (attempt: number): number =>
  Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(attempt - 1, 16))

/**
 * Keeps a projection's read model up to date: catch up from its checkpoint, then follow the log
 * live, one commit of documents and checkpoint per batch. Failures are logged and retried with
 * capped backoff, never thrown: a lagging read model is better than a process down.
 *
 * Each batch commits under the checkpoint's generation and position as loaded. When a rebuild
 * has switched the collections over meanwhile, or another node running the same projection has
 * committed, the store refuses the batch (it was computed against other documents); the runner
 * then reloads the checkpoint and generation and follows the log again from there.
 */
export function startProjection(options: StartProjectionOptions): ProjectionRunner {
  const { events, readModels, projection, maxBatch = DEFAULT_MAX_BATCH } = options
  const log = (options.logger ?? silentLogger).child({ projection: projection.name })
  const waiters = createPositionWaiters(events, projection, log)
  let checkpoint: bigint | undefined
  let generation = 0
  let inFlight: Promise<void> = Promise.resolve()
  let stopped = false
  let stopping: Promise<void> | undefined
  let settleReady: { resolve(): void; reject(err: Error): void } | undefined
  const ready = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }))
  // Nobody has to await `ready`: a stop before catching up must not be an unhandled rejection.
  ready.catch(() => undefined)

  const retrying = <T>(message: string, level: 'warn' | 'error') =>
    retry<T>({
      // A success starts the backoff over, so one bad hour does not slow the next failure.
      resetOnSuccess: true,
      delay: (err: unknown, attempt: number) => {
        // Retrying a batch computed against replaced collections would not help: see below.
        if (isStaleCheckpoint(err)) return throwError(() => err)

        const retryInMs = backoff(attempt)
        log[level]({ err, attempt, retryInMs }, message)
        // Never two batches at once: a retry also waits for a batch still running.
        return timer(retryInMs).pipe(concatMap(() => inFlight.catch(() => undefined)))
      },
    })

  const runBatch = async (batch: readonly RecordedEvent[]): Promise<void> => {
    // A resubscription after a failure may hand back events already committed.
    const from = checkpoint
    const fresh = from === undefined ? batch : batch.filter((event) => event.position > from)
    if (fresh.length === 0) return

    const changes = await projectBatch(projection, readModels, fresh)
    const last = fresh[fresh.length - 1].position
    await readModels.commit(projection.name, changes, last, { generation, position: from ?? null })
    checkpoint = last
    waiters.committed(last)
  }

  const load = async (): Promise<void> => {
    const state = await readModels.checkpointState(projection.name)
    checkpoint = state.position
    generation = state.generation
  }

  // A switch-over replaced the collections, or another node running this projection committed
  // first: drop the refused batch, take the new checkpoint and generation, and subscribe again
  // from there, at once (it is no failure, so no backoff).
  const followSwitchOver = retry<void>({
    delay: (err: unknown) => {
      if (!isStaleCheckpoint(err)) return throwError(() => err)

      return defer(async () => {
        const before = checkpoint
        await load()
        const fields = { generation, before: before?.toString(), after: checkpoint?.toString() }
        if (err instanceof ReadModelGenerationError) {
          log.info(fields, 'read model switched over, following from its new checkpoint')
        } else log.debug(fields, 'another writer committed first, following from its checkpoint')
        if (checkpoint !== undefined) waiters.committed(checkpoint)
      })
    },
  })

  // 1. Collections and checkpoint; the head seen now is what `ready` waits for.
  const start$ = defer(async () => {
    await readModels.ensureCollections(projection.collections)
    await load()
    const head = await events.headPosition()
    waiters.start(checkpoint)
    waiters.wait(head, Infinity).then(settleReady?.resolve, settleReady?.reject)
  }).pipe(retrying<void>('projection start failed', 'error'))

  // 2. Batches in log order, one at a time: concatMap keeps each conversation's events in order.
  const follow$ = defer(() =>
    events.subscribeToAll({ after: checkpoint, categories: projection.categories }),
  ).pipe(
    bufferAvailable(maxBatch),
    concatMap((batch) =>
      defer(() => (inFlight = runBatch(batch))).pipe(
        retrying<void>('projection batch failed', 'error'),
      ),
    ),
    followSwitchOver,
    retrying<void>('projection subscription failed', 'warn'),
  )

  const end = (): void => {
    stopped = true
    const err = new ProjectionStoppedError(projection.name)
    settleReady?.reject(err)
    waiters.stop(err)
  }

  const subscription = concat(start$, follow$).subscribe({
    complete: () => {
      log.info({}, 'event store closed, projection stopped')
      end()
    },
  })

  return {
    ready,
    waitForPosition(position, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS) {
      if (stopped) return Promise.reject(new ProjectionStoppedError(projection.name))
      return waiters.wait(position, timeoutMs)
    },
    position: () => checkpoint ?? 0n,
    stop() {
      if (stopped) return Promise.resolve()
      stopping ??= (async () => {
        // Events already committed are delivered but may still wait in the buffer or behind the
        // batch in flight, and unsubscribing would drop them: a clean shutdown (which records
        // disconnects just before) would leave the read models behind the log until a restart.
        try {
          const head = await events.headPosition()
          await waiters.wait(head, DEFAULT_STOP_DRAIN_MS)
        } catch {
          // A closed store or a runner that cannot keep up: stop without draining.
        }
        stopped = true
        subscription.unsubscribe()
        // The batch in flight still commits, and may satisfy some waiters before the rest fail.
        await inFlight.catch(() => undefined)
        end()
      })()
      return stopping
    },
  }
}
