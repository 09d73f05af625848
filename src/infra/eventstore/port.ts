import type { Observable } from 'rxjs'

/**
 * The event-store port. Revisions count a stream's events from 0; positions order the global
 * log and only ever grow. Both are bigint because EventStoreDB's are 64-bit.
 */
export interface NewEvent {
  type: string
  data: unknown
  /** Optional: a deterministic id makes an append that is retried after a timeout idempotent. */
  id?: string
  metadata?: Record<string, unknown>
}

export interface RecordedEvent<Data = unknown> {
  id: string
  streamName: string
  revision: bigint
  position: bigint
  type: string
  data: Data
  metadata: Record<string, unknown>
  /** Milliseconds since the epoch, when the store committed the event. */
  recordedAt: number
}

/** What the writer expects the stream's last revision to be before its append. */
export type ExpectedRevision = bigint | 'no_stream' | 'stream_exists' | 'any'

export interface AppendResult {
  /** The stream's last revision after the append: pass it as the next expected revision. */
  nextExpectedRevision: bigint
  /** The global position of the last event appended. */
  position: bigint
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Omitted: from the start of the log. */
  after?: bigint
  /** Only events whose stream category is one of these (the text before the first dash). */
  categories?: readonly string[]
  maxCount?: number
}

export interface PruneOptions {
  category: string
  type: string
  /** Milliseconds since the epoch; only events recorded strictly before go. */
  recordedBefore: number
  /** A top-level field of the event data; the newest event per stream and value is kept. */
  keepLatestBy: string
}

export interface EventStore {
  /**
   * Appends atomically and durably: it resolves only once the events are committed. Throws
   * ConcurrencyError when the stream's revision is not the expected one.
   */
  appendToStream(
    streamName: string,
    events: readonly NewEvent[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult>

  /** A stream's events in revision order, from `fromRevision` (inclusive, default 0). */
  readStream(streamName: string, options?: { fromRevision?: bigint }): Promise<RecordedEvent[]>

  /** The global log in position order, in pages, without holding it all in memory. */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>

  /**
   * The global log after a position: first what is stored (catch-up), then every new event as it
   * commits (live), with no gap and no repeat at the hand-over. Completes only when unsubscribed
   * or when the store closes; errors when the store fails.
   */
  subscribeToAll(options?: Omit<ReadAllOptions, 'maxCount'>): Observable<RecordedEvent>

  /**
   * Optional: deletes the events of one type and category recorded before a time, except the
   * newest one per stream and value of the `keepLatestBy` data field; returns how many went.
   * Used to keep heartbeats from growing the log without bound on the embedded store. Stores
   * that expire events by themselves (EventStoreDB's `$maxAge`) leave it out.
   */
  prune?(options: PruneOptions): Promise<number>

  /** The position of the last committed event, or 0n for an empty log. */
  headPosition(): Promise<bigint>

  close(): Promise<void>
}
