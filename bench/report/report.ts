import type { Environment } from '../environment'
import type { AppendReport } from '../scenarios/append'
import type { IdleReport } from '../scenarios/idle'
import type { ReplayReport } from '../scenarios/replay'
import type { ThroughputReport } from '../scenarios/throughput'
import type { ProfileSummary } from './cpu-profile'

/** One of the targets, judged against a figure of the same run. */
export interface TargetVerdict {
  id: string
  label: string
  /** The figure judged: a ratio to a baseline or an absolute value. */
  value: number | null
  unit: string
  /** The goal, e.g. '>= 0.5x relay' or '<= 2 ms'. */
  goal: string
  /** null when the scenario did not run (or failed). */
  met: boolean | null
  note?: string
}

/** Everything one run measured: what `bench-results/latest.json` holds. */
export interface BenchReport {
  meta: {
    plan: string
    startedAt: string
    seconds: number
    command: string
    dataDir: string
    /**
     * The machine's 1-minute load average as the run started and ended: this bench shares its
     * cores, and anything above ~0.5 means other work competed with it.
     */
    loadAverage: { start: number; end: number }
  }
  environment: Environment
  throughput: ThroughputReport | null
  idle: IdleReport | null
  append: AppendReport | null
  replay: ReplayReport | null
  targets: TargetVerdict[]
  /** Top self-time functions of each profiled server child (`--profile`). */
  profiles: ProfileSummary[]
  /** Scenarios that failed, with the reason; their section is null. */
  failures: { scenario: string; error: string }[]
}
