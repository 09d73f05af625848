import { join } from 'node:path'
import { closeFleet, connectParleyFleet, connectRelayFleet } from '../load/fleet'
import { halfTheKnee, kneeOf, Ladder, NO_KNEE, type Knee } from '../load/ladder'
import type { StepResult } from '../load/open-loop'
import type { BenchPlan } from '../plan'
import { BENCH_RATE_LIMIT, launchParley, launchRelay } from '../servers/launch'
import type { Progress } from '../support/progress'

/**
 * Presence thresholds for this scenario: far beyond its length, so sockets need no heartbeats and
 * the CPU per message is the message's alone. Heartbeats are measured on their own (idle).
 */
export const THROUGHPUT_ENV = {
  PARLEY_OFFLINE_AFTER_MS: '3600000',
  PARLEY_LEAVE_AFTER_MS: '7200000',
}

export interface LadderReport {
  setupMs: number
  steps: StepResult[]
  knee: Knee
}

export interface ThroughputReport {
  pairs: number
  connections: number
  /** The configuration the Parley child ran with, besides the defaults. */
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
  const parley = await parleyLadder(o)
  const relay =
    o.fixedRate === undefined
      ? await relayLadder(o, parley.halfKnee?.rate ?? o.plan.parleyRates[0])
      : { setupMs: 0, steps: [], knee: NO_KNEE, atParleyHalfKnee: null }
  return {
    pairs: o.plan.pairs,
    connections: o.plan.pairs * 2,
    serverEnv: { ...THROUGHPUT_ENV, PARLEY_RATE_LIMIT: BENCH_RATE_LIMIT },
    parley,
    relay,
  }
}

async function parleyLadder(o: ThroughputOptions): Promise<ThroughputReport['parley']> {
  const { plan, progress } = o
  const server = await launchParley({
    dataDir: join(o.dataDir, 'throughput'),
    env: THROUGHPUT_ENV,
    profileDir: o.profileDir,
  })
  try {
    progress.note(`throughput: connecting ${plan.pairs} Parley pairs`)
    const fleet = await connectParleyFleet(server.port, plan.pairs, String(process.pid))
    progress.note(`throughput: Parley pairs assigned in ${Math.round(fleet.setupMs)} ms`)
    const ladder = new Ladder(fleet, server.probe, plan, progress, 'Parley')
    await ladder.warmUp(plan.parleyRates[0])

    if (o.fixedRate !== undefined) {
      const fixed = await ladder.at(o.fixedRate, plan.halfKneeSeconds, 'Parley fixed rate')
      closeFleet(fleet)
      return { setupMs: fleet.setupMs, steps: [fixed], knee: kneeOf([fixed]), halfKnee: fixed }
    }
    const climbed = await ladder.climb(plan.parleyRates)
    const half = halfTheKnee(climbed.knee, plan.parleyRates[0])
    const halfKnee = await ladder.at(half, plan.halfKneeSeconds, 'Parley half knee')
    closeFleet(fleet)
    return { ...climbed, setupMs: fleet.setupMs, halfKnee }
  } finally {
    await server.child.stop()
  }
}

async function relayLadder(
  o: ThroughputOptions,
  parleyHalfKnee: number,
): Promise<ThroughputReport['relay']> {
  const { plan, progress } = o
  const server = await launchRelay()
  try {
    progress.note(`throughput: connecting ${plan.pairs} relay pairs`)
    const fleet = await connectRelayFleet(server.port, plan.pairs)
    const ladder = new Ladder(fleet, server.probe, plan, progress, 'relay')
    await ladder.warmUp(plan.relayRates[0])
    const climbed = await ladder.climb(plan.relayRates)
    const same = await ladder.at(parleyHalfKnee, plan.halfKneeSeconds, 'relay at Parley half knee')
    closeFleet(fleet)
    return { ...climbed, setupMs: fleet.setupMs, atParleyHalfKnee: same }
  } finally {
    await server.child.stop()
  }
}
