/**
 * The EventStoreDB adapter of Parley's event-store port.
 *
 * Every use of @eventstore/db-client (6.2.1) lives in this folder, and its errors are translated
 * here (errors.ts), so the rest of Parley never sees the client. Its successor,
 * @kurrent/kurrentdb-client (1.x), keeps nearly the same API: `KurrentDBClient.connectionString`,
 * `appendToStream`, `subscribeToAll`, `streamNameFilter`, the same constants and error classes,
 * `kurrentdb://` connection strings. Moving to it changes the imports and the client's class name
 * here and the URL schemes config.ts accepts. Two differences touch read-all.ts: its `readAll`
 * takes a server-side `filter`, so the tail scan there can become one filtered read, and its
 * reads are plain async iterators (no `cancel()`; leaving the loop ends them).
 *
 * Layout: one stream per aggregate under Parley's unchanged names (`conversation-<id>`,
 * `agent-<id>`, `presence-<role>-<id>`, `customer-<id>`); the port's position is the commit
 * position in $all (see event-codec.ts). See docs/eventstore.md.
 */
import {
  ANY,
  EventStoreDBClient,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  BACKWARDS,
  END,
  type AppendExpectedRevision,
} from '@eventstore/db-client'
import { ConcurrencyError, ParleyError } from '../../../domain/shared/errors'
import { type Logger, silentLogger } from '../../logging/logger'
import {
  StoreClosedError,
  checkDistinctIds,
  checkExpectedRevision,
  findIdempotentResult,
} from '../append-rules'
import type { AppendResult, EventStore, ExpectedRevision, NewEvent, RecordedEvent } from '../port'
import { STORE_FAILED, translateError } from './errors'
import { toEventData, toRecordedEvent } from './event-codec'
import { DEFAULT_PRESENCE_MAX_AGE_SECONDS, createPresenceMaxAge } from './presence-max-age'
import { headPosition, readAll } from './read-all'
import type { EsdbSession } from './session'
import { subscribeToAll } from './subscription'

export interface EsdbEventStoreOptions {
  /** E.g. `esdb://localhost:2113?tls=false`; see the client's connection string options. */
  connectionString: string
  /** Default: silent. */
  logger?: Logger
  /** `$maxAge` of presence streams; default `DEFAULT_PRESENCE_MAX_AGE_SECONDS` (24 h). */
  presenceMaxAgeSeconds?: number
}

const toClientRevision = (expected: ExpectedRevision): AppendExpectedRevision => {
  if (expected === 'no_stream') return NO_STREAM
  if (expected === 'stream_exists') return STREAM_EXISTS
  if (expected === 'any') return ANY
  return expected
}

/** An event store on EventStoreDB; connects lazily, on the first call. */
export function createEsdbEventStore(options: EsdbEventStoreOptions): EventStore {
  const log = options.logger ?? silentLogger
  let client: EventStoreDBClient
  try {
    client = EventStoreDBClient.connectionString(options.connectionString)
  } catch (err) {
    throw new ParleyError(STORE_FAILED, `bad EventStoreDB connection string: ${String(err)}`)
  }
  let closed = false
  const closers = new Set<() => void>()
  const session: EsdbSession = {
    client,
    log,
    isClosed: () => closed,
    onClose(stop) {
      closers.add(stop)
      return () => closers.delete(stop)
    },
  }
  const maxAge = createPresenceMaxAge(
    session,
    options.presenceMaxAgeSeconds ?? DEFAULT_PRESENCE_MAX_AGE_SECONDS,
  )

  const readStream = async (streamName: string, fromRevision = 0n): Promise<RecordedEvent[]> => {
    if (closed) throw new StoreClosedError()
    const events: RecordedEvent[] = []
    try {
      const read = client.readStream(streamName, {
        fromRevision: fromRevision === 0n ? START : fromRevision,
      })
      for await (const resolved of read) {
        const event = toRecordedEvent(resolved)
        if (event !== undefined) events.push(event)
      }
    } catch (err) {
      if (err instanceof StreamNotFoundError) return []
      throw translateError(err, { operation: 'readStream', streamName, closed })
    }
    return events
  }

  const lastRevision = async (streamName: string): Promise<bigint | undefined> => {
    let revision: bigint | undefined
    try {
      // Read to its end (one event), not left early: a read left open holds its call open.
      const read = client.readStream(streamName, {
        direction: BACKWARDS,
        fromRevision: END,
        maxCount: 1,
      })
      for await (const resolved of read) revision = resolved.event?.revision
    } catch (err) {
      if (err instanceof StreamNotFoundError) return undefined
      throw translateError(err, { operation: 'readStream', streamName, closed })
    }
    return revision
  }

  // The server makes a retry idempotent when its ids sit right after the expected revision. A
  // retry the server refused (a stale `any`-less expectation that moved for another reason) is
  // judged by the same rules as on the other stores: all ids stored in this stream is a retry,
  // some is a conflict, none is the writer's lost race.
  const judgeRefusedRetry = async (
    streamName: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult | undefined> => {
    const from = typeof expected === 'bigint' ? expected + 1n : 0n
    const stored = new Map((await readStream(streamName, from)).map((e) => [e.id, e]))
    return findIdempotentResult(streamName, events, (id) => stored.get(id))
  }

  return {
    async appendToStream(streamName, events, appendOptions = {}) {
      if (closed) throw new StoreClosedError()
      const expected = appendOptions.expectedRevision ?? 'any'
      checkDistinctIds(streamName, events)
      const data = toEventData(events)

      // 1. An empty append writes nothing: its expected revision is checked against a read.
      if (events.length === 0) {
        const current = await lastRevision(streamName)
        checkExpectedRevision(streamName, expected, current)
        return { nextExpectedRevision: current ?? -1n, position: await headPosition(session) }
      }

      // 2. Append; a lost race may still be a retry of an append that did commit.
      let result: AppendResult
      try {
        const written = await client.appendToStream(streamName, data, {
          expectedRevision: toClientRevision(expected),
        })
        result = {
          nextExpectedRevision: written.nextExpectedRevision,
          position: written.position?.commit ?? (await headPosition(session)),
        }
      } catch (err) {
        const translated = translateError(err, {
          operation: 'appendToStream',
          streamName,
          expected,
          closed,
        })
        if (!(translated instanceof ConcurrencyError) || !events.some((e) => e.id !== undefined)) {
          throw translated
        }
        const retried = await judgeRefusedRetry(streamName, events, expected)
        if (retried === undefined) throw translated
        return retried
      }

      // 3. Presence streams get their max age once.
      const created = result.nextExpectedRevision === BigInt(events.length - 1)
      await maxAge.afterAppend(streamName, created)
      return result
    },

    readStream: (streamName, readOptions = {}) => readStream(streamName, readOptions.fromRevision),
    readAll: (readOptions) => readAll(session, readOptions),
    subscribeToAll: (subscribeOptions) => subscribeToAll(session, subscribeOptions),
    headPosition: () => headPosition(session),

    async close() {
      if (closed) return
      closed = true
      for (const stop of [...closers]) stop()
      closers.clear()
      destroyAbandonedStreams(client)
      await client.dispose()
      log.debug({}, 'event store closed')
    },
  }
}

/**
 * Works around @eventstore/db-client 6.2.1, whose `dispose()` awaits the end of every gRPC
 * stream the client opened. A read left before its end (a tail scan that found what it looked
 * for, a bounded read of $all ended at the head) is cancelled, but a cancelled gRPC stream ends
 * only once its buffered messages are read, and nobody reads them any more: `dispose()` then
 * never resolves and the process cannot shut down. Destroying the streams first ends them at
 * once. Seen with Parley as a separate process from its server (a node stopping with SIGTERM
 * hung here; tests/gateway/two-nodes.e2e.test.ts stops two such nodes); not reproduced with the
 * server in the same process. Uses the client's private set of streams; re-check when moving to
 * @kurrent/kurrentdb-client, whose `dispose` may not need it.
 */
function destroyAbandonedStreams(client: EventStoreDBClient): void {
  const streams = (client as unknown as { disposableStreams?: Set<{ destroy(): void }> })
    .disposableStreams
  for (const stream of streams ?? []) stream.destroy()
}
