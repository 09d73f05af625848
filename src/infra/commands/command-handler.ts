import type { Decider } from '../../domain/shared/decider'
import { ConcurrencyError } from '../../domain/shared/errors'
import type { EventStore, NewEvent } from '../eventstore/port'
import { KeyedQueue } from './keyed-queue'

/** How many times a command is re-decided after losing a revision race before giving up. */
export const DEFAULT_MAX_RETRIES = 20
/** How many streams' folded states a handler keeps in memory. */
export const DEFAULT_CACHE_SIZE = 20_000

export interface HandleResult<State, Event> {
  state: State
  /** The events this command appended; empty when the decider had nothing to do. */
  events: Event[]
  /** The global position of the last appended event, or null when nothing was appended. */
  position: bigint | null
}

interface Cached<State> {
  state: State
  /** Last revision folded into `state`; -1n for a stream with no events. */
  revision: bigint
}

/**
 * Load, fold, decide, append: the one way commands change state. Folded states are cached per
 * stream and brought up to date with a read of only the newer events before each decision, so a
 * long conversation is not re-read from the start for every message. A lost revision race (another
 * node, or a crash-retried append) re-reads and decides again; the decider sees the winner's
 * events, so a retried send finds its own message instead of storing a second one.
 */
export class CommandHandler<Command, Event extends { type: string; data: unknown }, State> {
  private readonly cache = new Map<string, Cached<State>>()
  private readonly queue = new KeyedQueue()

  constructor(
    private readonly events: EventStore,
    private readonly decider: Decider<Command, Event, State>,
    private readonly options: { maxRetries?: number; cacheSize?: number } = {},
  ) {}

  handle(streamName: string, command: Command | ((state: State) => Command)) {
    return this.queue.run(streamName, () => this.decideAndAppend(streamName, command))
  }

  /** The stream's current state, read through the same cache. */
  read(streamName: string): Promise<State> {
    return this.queue.run(streamName, async () => (await this.load(streamName)).state)
  }

  private async decideAndAppend(
    streamName: string,
    command: Command | ((state: State) => Command),
  ): Promise<HandleResult<State, Event>> {
    const maxRetries = this.options.maxRetries ?? DEFAULT_MAX_RETRIES
    for (let attempt = 0; ; attempt++) {
      // 1. Bring the folded state up to the stream's tail.
      const current = await this.load(streamName)

      // 2. Decide; a DomainError propagates to the caller untouched.
      const cmd =
        typeof command === 'function' ? (command as (s: State) => Command)(current.state) : command
      const decided = this.decider.decide(cmd, current.state)
      if (decided.length === 0) return { state: current.state, events: [], position: null }

      // 3. Append against the revision the decision was made on.
      const expectedRevision = current.revision === -1n ? 'no_stream' : current.revision
      const newEvents: NewEvent[] = decided.map((e) => ({ type: e.type, data: e.data }))
      try {
        const result = await this.events.appendToStream(streamName, newEvents, { expectedRevision })
        let state = current.state
        for (const event of decided) state = this.decider.evolve(state, event)
        this.remember(streamName, { state, revision: result.nextExpectedRevision })
        return { state, events: decided, position: result.position }
      } catch (err) {
        if (!(err instanceof ConcurrencyError) || attempt >= maxRetries) throw err
      }
    }
  }

  private async load(streamName: string): Promise<Cached<State>> {
    const cached = this.cache.get(streamName) ?? {
      state: this.decider.initialState(),
      revision: -1n,
    }
    const newer = await this.events.readStream(streamName, { fromRevision: cached.revision + 1n })
    if (newer.length === 0) return cached

    let state = cached.state
    for (const recorded of newer) {
      state = this.decider.evolve(state, { type: recorded.type, data: recorded.data } as Event)
    }
    const updated = { state, revision: newer[newer.length - 1].revision }
    this.remember(streamName, updated)
    return updated
  }

  private remember(streamName: string, entry: Cached<State>): void {
    // Re-inserting moves the stream to the end, so the first key is the least recently used.
    this.cache.delete(streamName)
    this.cache.set(streamName, entry)
    if (this.cache.size > (this.options.cacheSize ?? DEFAULT_CACHE_SIZE)) {
      const oldest = this.cache.keys().next().value
      if (oldest !== undefined) this.cache.delete(oldest)
    }
  }
}
