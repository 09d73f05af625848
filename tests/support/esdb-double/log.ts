/**
 * TEST-ONLY. The in-memory log of the EventStoreDB double: streams with revisions from 0, one
 * global order with commit/prepare positions that grow like byte offsets (never dense, so no
 * code may take a position for a count), expected-revision checks and id-based idempotency as
 * the server applies them. See ./index.ts for what the double does not mimic.
 */

/** An expected revision as the wire carries it. */
export type Expected = bigint | 'any' | 'no_stream' | 'stream_exists'

export interface StoredEvent {
  id: string
  streamName: string
  revision: bigint
  /** commit == prepare: the double, like the server for a normal write, has no transactions. */
  position: bigint
  type: string
  contentType: string
  data: Uint8Array
  customMetadata: Uint8Array
  /** .NET-style ticks (100 ns) since the Unix epoch, as the server stamps `created`. */
  created: bigint
}

export interface ProposedEvent {
  id: string
  type: string
  contentType: string
  data: Uint8Array
  customMetadata: Uint8Array
}

export type AppendOutcome =
  | { ok: true; currentRevision: bigint; position: bigint }
  | { ok: false; current: bigint | undefined; expected: Expected }

/** Where the first event lands; the server's $all never starts at 0 either (system records). */
export const FIRST_POSITION = 1_024n
/** Fixed bytes a record takes besides its stream name, type, data and metadata. */
const RECORD_OVERHEAD = 96

export interface DoubleLog {
  append(streamName: string, expected: Expected, events: readonly ProposedEvent[]): AppendOutcome
  stream(streamName: string): readonly StoredEvent[] | undefined
  /** Every event in position order (the array itself: callers must not change it). */
  all(): readonly StoredEvent[]
  /** Called with each event right after it is stored. */
  onAppended(listener: (event: StoredEvent) => void): () => void
}

export function createDoubleLog(now: () => number = Date.now): DoubleLog {
  const log: StoredEvent[] = []
  const streams = new Map<string, StoredEvent[]>()
  const listeners = new Set<(event: StoredEvent) => void>()
  let next = FIRST_POSITION

  const matches = (events: readonly ProposedEvent[], stored: readonly StoredEvent[]): boolean =>
    events.length > 0 &&
    stored.length === events.length &&
    events.every((event, i) => stored[i].id === event.id)

  // The server's idempotency: a write whose ids are exactly the events after the expected
  // revision already stored there is acknowledged again with their revision and position.
  const alreadyWritten = (
    stream: readonly StoredEvent[],
    expected: Expected,
    events: readonly ProposedEvent[],
  ): AppendOutcome | undefined => {
    let from: number
    if (expected === 'no_stream') from = 0
    else if (typeof expected === 'bigint') from = Number(expected) + 1
    else from = stream.findIndex((e) => e.id === events[0]?.id)
    if (from < 0) return undefined

    const stored = stream.slice(from, from + events.length)
    if (!matches(events, stored)) return undefined
    const last = stored[stored.length - 1]
    return { ok: true, currentRevision: last.revision, position: last.position }
  }

  return {
    append(streamName, expected, events) {
      const stream = streams.get(streamName) ?? []
      const current = stream.length === 0 ? undefined : BigInt(stream.length - 1)

      const retried = alreadyWritten(stream, expected, events)
      if (retried) return retried

      const ok =
        expected === 'any' ||
        (expected === 'no_stream' && current === undefined) ||
        (expected === 'stream_exists' && current !== undefined) ||
        expected === current
      if (!ok) return { ok: false, current, expected }
      if (events.length === 0) {
        return { ok: true, currentRevision: current ?? -1n, position: log.at(-1)?.position ?? 0n }
      }

      const created = BigInt(now()) * 10_000n
      const stored = events.map((event, i): StoredEvent => {
        const position = next
        const size = event.data.length + event.customMetadata.length + event.type.length
        next += BigInt(RECORD_OVERHEAD + streamName.length + size)
        return { ...event, streamName, revision: BigInt(stream.length + i), position, created }
      })
      for (const event of stored) {
        stream.push(event)
        log.push(event)
      }
      streams.set(streamName, stream)
      for (const event of stored) for (const listener of listeners) listener(event)

      const last = stored[stored.length - 1]
      return { ok: true, currentRevision: last.revision, position: last.position }
    },

    stream: (streamName) => streams.get(streamName),
    all: () => log,
    onAppended(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
