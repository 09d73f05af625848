import type { Progress } from '../support/progress'
import type { Fleet } from './fleet'
import { runStep, waitQuiet, type ServerProbe, type StepResult } from './open-loop'

/** Where a server stops keeping up, read from a ladder of open-loop steps. */
export interface Knee {
  /** Highest offered rate that kept up; null when even the first did not. */
  offeredRate: number | null
  /** What was delivered at that rate. */
  deliveredPerSecond: number | null
  /** First rate that did not keep up; null when the whole ladder kept up (the knee is higher). */
  firstMissedRate: number | null
  /** What ran out at the first missed rate. */
  limitedBy: string | null
}

export const NO_KNEE: Knee = {
  offeredRate: null,
  deliveredPerSecond: null,
  firstMissedRate: null,
  limitedBy: null,
}

export interface LadderTiming {
  stepSeconds: number
  drainMs: number
  /** Longest wait for the server to go quiet between steps. */
  settleMs: number
}

/** Step numbers are unique in a run: they tag each step's messages. */
let lastStep = 0

/**
 * Open-loop steps against one server with one fleet, each step announced on `progress`, and
 * the server given time to drain between steps.
 */
export class Ladder {
  constructor(
    private readonly fleet: Fleet,
    private readonly server: ServerProbe,
    private readonly timing: LadderTiming,
    private readonly progress: Progress,
    private readonly label: string,
  ) {}

  /** One second at `rate`, not reported: JIT, caches and socket buffers warm up. */
  async warmUp(rate: number): Promise<void> {
    await this.settle()
    await runStep(this.fleet, this.server, { ...this.options(rate, 1), step: ++lastStep })
    await this.settle()
  }

  /** Tries the rates in order until one does not keep up; bounded by the number of rates. */
  async climb(rates: readonly number[]): Promise<{ steps: StepResult[]; knee: Knee }> {
    const steps: StepResult[] = []
    for (const rate of rates) {
      const result = await this.at(rate, this.timing.stepSeconds)
      steps.push(result)
      if (!result.keptUp) break
      await this.settle()
    }
    await this.settle()
    return { steps, knee: kneeOf(steps) }
  }

  async at(rate: number, seconds: number, label = this.label): Promise<StepResult> {
    const result = await runStep(this.fleet, this.server, {
      ...this.options(rate, seconds),
      step: ++lastStep,
    })
    const r = result.sendToReceipt
    this.progress.note(
      `throughput: ${label} ${rate}/s -> ${result.deliveredPerSecond}/s delivered, ` +
        `p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms, ` +
        `server ELU ${pct(result.server.eventLoopUtilization)}` +
        `, generator ELU ${pct(result.loadGenerator.eventLoopUtilization)}` +
        (result.keptUp ? '' : ` (did not keep up: ${result.limitedBy})`),
    )
    return result
  }

  private options(rate: number, seconds: number) {
    return { rate, seconds, drainMs: this.timing.drainMs }
  }

  private settle(): Promise<boolean> {
    return waitQuiet(this.server, this.timing.settleMs)
  }
}

export function kneeOf(steps: readonly StepResult[]): Knee {
  const kept = steps.filter((s) => s.keptUp)
  const best = kept[kept.length - 1]
  const missed = steps.find((s) => !s.keptUp)
  return {
    offeredRate: best?.rate ?? null,
    deliveredPerSecond: best?.deliveredPerSecond ?? null,
    firstMissedRate: missed?.rate ?? null,
    limitedBy: missed?.limitedBy ?? null,
  }
}

/** Half the knee's delivered rate; half the first rate when nothing kept up. */
export function halfTheKnee(knee: Knee, firstRate: number): number {
  return Math.max(1, Math.round((knee.deliveredPerSecond ?? firstRate) / 2))
}

const pct = (share: number): string => `${Math.round(share * 100)}%`
