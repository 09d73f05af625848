/** What a rebuild or a verification is doing. */
export const RebuildPhase = {
  /** Replaying the log into the shadow collections. */
  Replay: 'replay',
  /** Building the shadow's indexes, after the bulk of the replay. */
  Index: 'index',
  /** Final catch-up and switch-over, in one transaction. */
  Switch: 'switch',
  /** Comparing the shadow with the live collections. */
  Compare: 'compare',
} as const
export type RebuildPhase = (typeof RebuildPhase)[keyof typeof RebuildPhase]

/** Counts so far, reported after each batch and at each change of phase. */
export interface RebuildProgress {
  projection: string
  phase: RebuildPhase
  /** Events replayed into the shadow. */
  events: number
  /** Documents written (or deleted) in the shadow, after merging each batch's changes. */
  docs: number
  /** The shadow's position in the log, undefined before the first event. */
  position: bigint | undefined
  /** The log's head when last looked at. */
  head: bigint
  /** Since the rebuild started. */
  elapsedMs: number
}

export type ProgressListener = (progress: RebuildProgress) => void

/** Keeps the counts of one rebuild and tells the listener about each change. */
export class Meter {
  private readonly startedAt: number
  private phase: RebuildPhase = RebuildPhase.Replay
  private events = 0
  private docs = 0
  private position: bigint | undefined
  private head = 0n

  constructor(
    private readonly projection: string,
    private readonly listener: ProgressListener = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now()
  }

  enter(phase: RebuildPhase, head?: bigint): void {
    this.phase = phase
    if (head !== undefined) this.head = head
    this.listener(this.progress())
  }

  replayed(events: number, docs: number, position: bigint): void {
    this.events += events
    this.docs += docs
    this.position = position
    if (position > this.head) this.head = position
    this.listener(this.progress())
  }

  progress(): RebuildProgress {
    const { projection, phase, events, docs, position, head } = this
    return {
      projection,
      phase,
      events,
      docs,
      position,
      head,
      elapsedMs: this.now() - this.startedAt,
    }
  }
}
