import { mkdirSync, rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { describeEnvironment } from './environment'
import { SCENARIOS, type BenchPlan, type ProfiledScenario, type ScenarioName } from './plan'
import { summarizeProfile, type ProfileSummary, type ProfileWindow } from './report/cpu-profile'
import type { BenchReport } from './report/report'
import { judgeTargets } from './report/targets'
import { runAppend } from './scenarios/append'
import { runIdle } from './scenarios/idle'
import { runReplay } from './scenarios/replay'
import { runThroughput } from './scenarios/throughput'
import { profilesIn } from './servers/launch'
import type { Progress } from './support/progress'

export interface BenchOptions {
  plan: BenchPlan
  /** Default: all, in the order of SCENARIOS. */
  scenarios?: readonly ScenarioName[]
  /** Scratch directory for databases and server data; removed at the end. */
  dataDir: string
  progress: Progress
  /**
   * Profile into `profileDir`: the Parley child of `throughput` or `idle` (node --cpu-prof), or
   * the rebuild of `replay` (in process, through the inspector).
   */
  profile?: ProfiledScenario
  profileDir?: string
  /** Throughput: run Parley at this one rate instead of the ladder (for profiling). */
  fixedRate?: number
  /** How the run was started, for the report. */
  command?: string
}

/**
 * Runs the scenarios one after another (never two at once: each wants the machine) and returns
 * the report. A scenario that fails is recorded in `failures` and the others still run.
 */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const started = performance.now()
  const startedAt = new Date().toISOString()
  const loadStart = round(loadavg()[0])
  const wanted = new Set(o.scenarios ?? SCENARIOS)
  mkdirSync(o.dataDir, { recursive: true })
  o.progress.note(`bench ${o.plan.name}: ${[...wanted].join(', ')} in ${o.dataDir}`)

  const environment = describeEnvironment(o.dataDir, o.plan.fsyncProbe.count)
  o.progress.note(
    `fsync probe: ${environment.fsyncProbe.fsyncsPerSecond}/s, ` +
      `p50 ${environment.fsyncProbe.latency.p50Ms} ms`,
  )
  const failures: BenchReport['failures'] = []
  const profiles: ProfileSummary[] = []
  const profileDirOf = (scenario: ScenarioName) =>
    o.profile === scenario && o.profileDir ? o.profileDir : undefined

  const attempt = async <T>(
    scenario: ScenarioName,
    run: () => Promise<T>,
    window?: (result: T) => ProfileWindow | undefined,
  ): Promise<T | null> => {
    if (!wanted.has(scenario)) return null
    try {
      const result = await run()
      const dir = profileDirOf(scenario)
      for (const file of dir ? profilesIn(dir) : []) {
        const what = scenario === 'replay' ? 'rebuild, in process' : `Parley child, ${scenario}`
        profiles.push(summarizeProfile(file, what, window?.(result)))
      }
      return result
    } catch (err) {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err)
      o.progress.note(`${scenario} failed: ${error}`)
      failures.push({ scenario, error })
      return null
    }
  }

  const common = { dataDir: o.dataDir, progress: o.progress }
  const append = await attempt('append', () => runAppend({ ...common, plan: o.plan.append }))
  const replay = await attempt('replay', () =>
    runReplay({ ...common, plan: o.plan.replay, profileDir: profileDirOf('replay') }),
  )
  const throughput = await attempt(
    'throughput',
    () =>
      runThroughput({
        ...common,
        plan: o.plan.throughput,
        profileDir: profileDirOf('throughput'),
        fixedRate: o.fixedRate,
      }),
    (t) => {
      const step = t.parley.halfKnee
      return step
        ? { ...step.server.monotonicSpan, label: `Parley at ${step.rate} msgs/s` }
        : undefined
    },
  )
  const idle = await attempt(
    'idle',
    () => runIdle({ ...common, plan: o.plan.idle, profileDir: profileDirOf('idle') }),
    (i) => ({ ...i.parley.window.monotonicSpan, label: `${i.parley.connected} idle connections` }),
  )
  rmSync(o.dataDir, { recursive: true, force: true })

  const measured = { throughput, idle, append, replay }
  return {
    meta: {
      plan: o.plan.name,
      startedAt,
      seconds: Math.round((performance.now() - started) / 1000),
      command: o.command ?? 'runBench',
      dataDir: o.dataDir,
      loadAverage: { start: loadStart, end: round(loadavg()[0]) },
    },
    environment,
    ...measured,
    targets: judgeTargets(measured),
    profiles,
    failures,
  }
}

const round = (value: number): number => Math.round(value * 100) / 100
