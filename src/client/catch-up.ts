import { ClientError } from './errors'
import type { HistoryEntry } from './http-api'
import type { ClientLogger, Clock } from './types'

/** First wait before a failed history fetch is tried again; doubles up to the cap. */
export const CATCH_UP_RETRY_INITIAL_MS = 1_000
export const CATCH_UP_RETRY_MAX_MS = 30_000
/** Most pages one catch-up run reads before it yields to the next scheduled run. */
export const CATCH_UP_MAX_PAGES = 1_000

export interface CatchUpDeps {
  clock: Clock
  log: ClientLogger
  pageSize: number
  page(conversationId: string, afterSeq: number, limit: number): Promise<HistoryEntry[]>
  /** The conversation's contiguous mark now. */
  mark(conversationId: string): number
  /** Hands a page's entries to the timeline. */
  ingest(conversationId: string, entries: HistoryEntry[]): void
  /** Still worth fetching: followed, not closed, or items wait behind a gap. */
  wanted(conversationId: string): boolean
  /** True while items wait behind a gap. */
  hasGap(conversationId: string): boolean
  /** The server refuses to show it (403/404): the gap can never be filled. */
  unreadable(conversationId: string, err: ClientError): void
  onError(err: unknown): void
}

interface Run {
  timer?: unknown
  running: boolean
  again: boolean
  /** Only a gap asked for this run: skip it if the gap closed by itself meanwhile. */
  gapOnly: boolean
  failures: number
}

/**
 * Reads history after each conversation's contiguous mark, page by page until a short page,
 * one run per conversation at a time (a request during a run queues one more run). Used for
 * the catch-up after each connect and to fill a gap. Failures are retried with backoff; a
 * refusal (403, 404) is final.
 */
export class CatchUp {
  private readonly runs = new Map<string, Run>()
  private stopped = false

  constructor(private readonly deps: CatchUpDeps) {}

  /**
   * Fetch `conversationId` after `delayMs` (0: at once), unless a fetch is already due. With
   * `gapOnly`, the fetch is skipped if no item waits behind a gap by then.
   */
  request(conversationId: string, delayMs = 0, gapOnly = false): void {
    if (this.stopped) return
    const run = this.run(conversationId)
    const idle = run.timer === undefined && !run.running
    run.gapOnly = (idle || run.gapOnly) && gapOnly
    if (run.running) {
      run.again = true
      return
    }
    if (run.timer !== undefined) {
      if (delayMs > 0) return
      this.deps.clock.clearTimeout(run.timer)
    }
    run.timer = this.deps.clock.setTimeout(() => {
      run.timer = undefined
      void this.execute(conversationId, run)
    }, delayMs)
  }

  stop(): void {
    this.stopped = true
    for (const run of this.runs.values()) {
      if (run.timer !== undefined) this.deps.clock.clearTimeout(run.timer)
    }
    this.runs.clear()
  }

  private async execute(conversationId: string, run: Run): Promise<void> {
    if (this.stopped || !this.deps.wanted(conversationId)) return
    if (run.gapOnly && !this.deps.hasGap(conversationId)) return
    run.running = true
    run.again = false
    const before = this.deps.mark(conversationId)
    try {
      for (let pages = 0; pages < CATCH_UP_MAX_PAGES; pages += 1) {
        const afterSeq = this.deps.mark(conversationId)
        const entries = await this.deps.page(conversationId, afterSeq, this.deps.pageSize)
        if (this.stopped) return
        this.deps.ingest(conversationId, entries)
        if (entries.length < this.deps.pageSize) break
      }
    } catch (err) {
      if (this.stopped) return
      if (err instanceof ClientError && (err.status === 403 || err.status === 404)) {
        run.running = false
        this.deps.unreadable(conversationId, err)
        return
      }
      this.deps.onError(err)
      this.deps.log.info({ conversationId, err }, 'history fetch failed')
      return this.backOff(conversationId, run)
    }
    run.running = false
    const stuck = this.deps.hasGap(conversationId) && this.deps.mark(conversationId) === before
    if (stuck) return this.backOff(conversationId, run)
    run.failures = 0
    if (run.again || this.deps.hasGap(conversationId)) this.request(conversationId, 0)
  }

  /** Try again later, waiting longer after each failure (and after a run that filled nothing). */
  private backOff(conversationId: string, run: Run): void {
    run.running = false
    run.failures += 1
    const delay = Math.min(
      CATCH_UP_RETRY_MAX_MS,
      CATCH_UP_RETRY_INITIAL_MS * 2 ** Math.min(run.failures - 1, 20),
    )
    this.request(conversationId, delay)
  }

  private run(conversationId: string): Run {
    let run = this.runs.get(conversationId)
    if (!run) {
      run = { running: false, again: false, gapOnly: false, failures: 0 }
      this.runs.set(conversationId, run)
    }
    return run
  }
}
