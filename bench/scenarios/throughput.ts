import { join } from 'node:path'
import { closeFleet, connectParleyFleet, connectRelayFleet, type Fleet } from '../load/fleet'
import { runStep, waitQuiet, type ServerProbe, type StepResult } from '../load/open-loop'
import type { BenchPlan } from '../plan'
import { launchParley, launchRelay, type LaunchedServer } from '../servers/launch'
import type { Progress } from '../support/progress'

/**
 * Presence thresholds for this scenario: far beyond its length, so sockets need no heartbeats and
 * the CPU per message is the message's alone. Heartbeats are measured on their own (idle).
 */
export const THROUGHPUT_ENV = {
  PARLEY_OFFLINE_AFTER_MS: '3600000',
  PARLEY_LEAVE_AFTER_MS: '7200000',
}

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

export interface LadderReport {
  setupMs: number
  steps: StepResult[]
  knee: Knee
}

export interface ThroughputReport {
  pairs: number
  connections: number
  serverEnv: Record<string, string>
  parley: LadderReport & { halfKnee: StepResult | null }
  relay: LadderReport & { atParleyHalfKnee: StepResult | null }
}

export interface ThroughputOptions {
  plan: BenchPlan['throughput']
  dataDir: string
  progress: Progress
  /** Profile the Parley child (node --cpu-prof) into this directory. */
  profileDir?: string
  /** Only this rate on Parley, for `halfKneeSeconds` (profiling); no ladder, no relay. */
  fixedRate?: number
}

/**
 * Scenario 1: pairs over real sockets, an open-loop ladder of rates on Parley and on the bare
 * relay to find each knee, then Parley at half its knee for the latency targets, and the relay
 * at that same rate for reference.
 */
export async function runThroughput(o: ThroughputOptions): Promise<ThroughputReport> {
  const { plan, progress } = o
  let step = 1

  // 1. Parley.
  const parley = await launchParley({
    dataDir: join(o.dataDir, 'throughput'),
    env: THROUGHPUT_ENV,
    profileDir: o.profileDir,
  })
  let parleyReport: ThroughputReport['parley']
  try {
    progress.note(`throughput: connecting ${plan.pairs} Parley pairs`)
    const fleet = await connectParleyFleet(parley.port, plan.pairs, String(process.pid))
    progress.note(`throughput: Parley pairs assigned in ${Math.round(fleet.setupMs)} ms`)
    await waitQuiet(parley.probe, plan.settleMs)
    await runStep(fleet, parley.probe, {
      step: step++,
      rate: plan.parleyRates[0],
      seconds: 1,
      drainMs: plan.drainMs,
    })
    await waitQuiet(parley.probe, plan.settleMs)

    if (o.fixedRate !== undefined) {
      const fixed = await measured(
        fleet,
        parley,
        step++,
        o.fixedRate,
        plan.halfKneeSeconds,
        plan,
        progress,
        'Parley fixed',
      )
      parleyReport = {
        setupMs: fleet.setupMs,
        steps: [fixed],
        knee: kneeOf([fixed]),
        halfKnee: fixed,
      }
    } else {
      const ladder = await climb(
        fleet,
        parley,
        plan.parleyRates,
        () => step++,
        plan,
        progress,
        'Parley',
      )
      await waitQuiet(parley.probe, plan.settleMs)
      const half = halfOf(ladder.knee, plan.parleyRates[0])
      const halfKnee = await measured(
        fleet,
        parley,
        step++,
        half,
        plan.halfKneeSeconds,
        plan,
        progress,
        'Parley half knee',
      )
      parleyReport = { ...ladder, setupMs: fleet.setupMs, halfKnee }
    }
    closeFleet(fleet)
  } finally {
    await parley.child.stop()
  }
  if (o.fixedRate !== undefined) {
    const none: Knee = {
      offeredRate: null,
      deliveredPerSecond: null,
      firstMissedRate: null,
      limitedBy: null,
    }
    return report(plan, parleyReport, { setupMs: 0, steps: [], knee: none, atParleyHalfKnee: null })
  }

  // 2. The bare relay, same generator, same pairs.
  const relay = await launchRelay()
  let relayReport: ThroughputReport['relay']
  try {
    progress.note(`throughput: connecting ${plan.pairs} relay pairs`)
    const fleet = await connectRelayFleet(relay.port, plan.pairs)
    await runStep(fleet, relay.probe, {
      step: step++,
      rate: plan.relayRates[0],
      seconds: 1,
      drainMs: plan.drainMs,
    })
    const ladder = await climb(fleet, relay, plan.relayRates, () => step++, plan, progress, 'relay')
    await waitQuiet(relay.probe, plan.settleMs)
    const rate = parleyReport.halfKnee?.rate ?? plan.parleyRates[0]
    const same = await measured(
      fleet,
      relay,
      step++,
      rate,
      plan.halfKneeSeconds,
      plan,
      progress,
      'relay at Parley half knee',
    )
    relayReport = { ...ladder, setupMs: fleet.setupMs, atParleyHalfKnee: same }
    closeFleet(fleet)
  } finally {
    await relay.child.stop()
  }
  return report(plan, parleyReport, relayReport)
}

function report(
  plan: BenchPlan['throughput'],
  parley: ThroughputReport['parley'],
  relay: ThroughputReport['relay'],
): ThroughputReport {
  return {
    pairs: plan.pairs,
    connections: plan.pairs * 2,
    serverEnv: { ...THROUGHPUT_ENV, PARLEY_RATE_LIMIT: '10000/s,burst=100000' },
    parley,
    relay,
  }
}

/** Steps up the rates until one does not keep up; every loop is bounded by the ladder. */
async function climb(
  fleet: Fleet,
  server: LaunchedServer,
  rates: readonly number[],
  nextStep: () => number,
  plan: BenchPlan['throughput'],
  progress: Progress,
  label: string,
): Promise<{ steps: StepResult[]; knee: Knee }> {
  const steps: StepResult[] = []
  for (const rate of rates) {
    const result = await measured(
      fleet,
      server,
      nextStep(),
      rate,
      plan.stepSeconds,
      plan,
      progress,
      label,
    )
    steps.push(result)
    if (!result.keptUp) break
    await waitQuiet(server.probe, plan.settleMs)
  }
  return { steps, knee: kneeOf(steps) }
}

async function measured(
  fleet: Fleet,
  server: { probe: ServerProbe },
  step: number,
  rate: number,
  seconds: number,
  plan: BenchPlan['throughput'],
  progress: Progress,
  label: string,
): Promise<StepResult> {
  const result = await runStep(fleet, server.probe, { step, rate, seconds, drainMs: plan.drainMs })
  const r = result.sendToReceipt
  progress.note(
    `throughput: ${label} ${rate}/s -> ${result.deliveredPerSecond}/s delivered, ` +
      `p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms, server ELU ${pct(result.server.eventLoopUtilization)}, ` +
      `generator ELU ${pct(result.loadGenerator.eventLoopUtilization)}` +
      (result.keptUp ? '' : ` (did not keep up: ${result.limitedBy})`),
  )
  return result
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
function halfOf(knee: Knee, firstRate: number): number {
  return Math.max(1, Math.round((knee.deliveredPerSecond ?? firstRate) / 2))
}

const pct = (share: number): string => `${Math.round(share * 100)}%`
