import type { LatencySummary } from '../support/histogram'
import { pause } from '../support/child'
import { diffSamples, sampleProcess, type ProcessDelta, type ProcessSample } from '../support/rpc'
import type { Fleet } from './fleet'
import { StepRecorder } from './step-recorder'

/** The first message of a step is due this long after the step is set up: 20 ms. */
export const START_DELAY_MS = 20
/** A step keeps up when this share of its messages arrived within the drain time: 95 %. */
export const KEEP_UP_SHARE = 0.95
/** ...and its send-to-receipt p99 stayed under this: 250 ms. */
export const KEEP_UP_P99_MS = 250
/** An event loop busier than this share of the time is saturated: 90 %. */
export const SATURATED_ELU = 0.9

/** How the bench reads a server child: its process counters and, for Parley, group commits. */
export interface ServerProbe {
  sample(): Promise<ProcessSample>
  commits?(): Promise<{ transactions: number; appends: number; events: number }>
}

export interface StepOptions {
  /** A step number unique in the run: it tags the step's clientMsgIds and message texts. */
  step: number
  /** Messages per second, all users together. */
  rate: number
  seconds: number
  /** Time allowed after the last send for the rest to arrive. */
  drainMs: number
}

export interface StepResult {
  rate: number
  seconds: number
  scheduled: number
  delivered: number
  duplicates: number
  sentAnswers: number
  errors: Record<string, number>
  deliveredPerSecond: number
  /** Intended send time to the agent's receipt of the `message` frame. */
  sendToReceipt: LatencySummary
  /** Intended send time to the sender's receipt of `sent` (Parley: after the fsync). */
  sentRoundTrip: LatencySummary
  /** How late the load generator sent, against the schedule. */
  sendLag: LatencySummary
  server: ProcessDelta & { cpuMicrosPerMessage: number | null }
  loadGenerator: ProcessDelta
  /** Parley only: group commits (fsyncs) and events per delivered message. */
  commits?: { fsyncsPerSecond: number; eventsPerMessage: number; appendsPerCommit: number }
  keptUp: boolean
  /** What ran out first when the step did not keep up (or is close to it). */
  limitedBy: 'none' | 'server' | 'load generator'
}

/**
 * One open-loop step: messages are due at fixed intervals from the step's start and sent when
 * due, whatever happened to earlier ones, round-robin over the users. Latencies count from the
 * due time, so a server (or generator) that falls behind shows up in them instead of silently
 * slowing the offered load. Agents acknowledge each message as it arrives.
 */
export async function runStep(
  fleet: Fleet,
  server: ServerProbe,
  o: StepOptions,
): Promise<StepResult> {
  const total = Math.max(1, Math.round(o.rate * o.seconds))
  const step = new StepRecorder(o.step, total, 1000 / o.rate)
  step.attach(fleet)
  const serverBefore = await server.sample()
  const commitsBefore = await server.commits?.()
  const genBefore = sampleProcess()

  // 1. Send on schedule: one timer, and every message due by the time it fires goes out.
  const t0 = performance.now() + START_DELAY_MS
  step.start(t0)
  let next = 0
  await new Promise<void>((done) => {
    const tick = (): void => {
      for (let now = performance.now(); next < total && step.dueAt(next) <= now; next++) {
        const user = fleet.users[next % fleet.users.length]
        user.socket.send(step.frameFor(next, user))
        step.sendLag.recordMs(now - step.dueAt(next))
        now = performance.now()
      }
      if (next >= total) return done()
      setTimeout(tick, Math.max(0, Math.floor(step.dueAt(next) - performance.now())))
    }
    setTimeout(tick, START_DELAY_MS)
  })

  // 2. Drain: bounded by the step's end plus the drain time.
  const deadline = step.dueAt(total) + o.drainMs
  while (!step.complete && performance.now() < deadline) await pause(5)
  const genDelta = diffSamples(genBefore, sampleProcess())
  const serverDelta = diffSamples(serverBefore, await server.sample())
  const commitsAfter = await server.commits?.()
  step.detach(fleet)

  // 3. Figures.
  const sendToReceipt = step.receipt.summary()
  const keptUp =
    step.delivered >= KEEP_UP_SHARE * total && (sendToReceipt.p99Ms ?? Infinity) <= KEEP_UP_P99_MS
  const serverElu = serverDelta.eventLoopUtilization
  const genElu = genDelta.eventLoopUtilization
  const limitedBy =
    keptUp && Math.max(serverElu, genElu) < SATURATED_ELU
      ? 'none'
      : genElu > serverElu
        ? 'load generator'
        : 'server'
  const spanSeconds = Math.max(o.seconds, (step.lastDeliveryAt - t0) / 1000)

  return {
    rate: o.rate,
    seconds: o.seconds,
    scheduled: total,
    delivered: step.delivered,
    duplicates: step.duplicates,
    sentAnswers: step.answered,
    errors: step.errors,
    deliveredPerSecond: round(step.delivered / spanSeconds),
    sendToReceipt,
    sentRoundTrip: step.sentRoundTrip.summary(),
    sendLag: step.sendLag.summary(),
    server: {
      ...serverDelta,
      cpuMicrosPerMessage:
        step.delivered > 0 ? round(serverDelta.cpuMicros / step.delivered) : null,
    },
    loadGenerator: genDelta,
    ...(commitsBefore &&
      commitsAfter && {
        commits: commitFigures(commitsBefore, commitsAfter, serverDelta.wallMs, step.delivered),
      }),
    keptUp,
    limitedBy,
  }
}

type Commits = { transactions: number; appends: number; events: number }

function commitFigures(before: Commits, after: Commits, wallMs: number, messages: number) {
  const transactions = after.transactions - before.transactions
  return {
    fsyncsPerSecond: round(transactions / (wallMs / 1000)),
    eventsPerMessage: round((after.events - before.events) / Math.max(1, messages)),
    appendsPerCommit: round((after.appends - before.appends) / Math.max(1, transactions)),
  }
}

/**
 * Waits until the server's event loop is nearly idle (a backlog from an overloaded step has
 * drained), checking every 250 ms, for at most `maxMs`. Returns whether it got quiet.
 */
export async function waitQuiet(
  server: ServerProbe,
  maxMs: number,
  threshold = 0.1,
): Promise<boolean> {
  const deadline = performance.now() + maxMs
  let before = await server.sample()
  while (performance.now() < deadline) {
    await pause(250)
    const after = await server.sample()
    if (diffSamples(before, after).eventLoopUtilization < threshold) return true
    before = after
  }
  return false
}

const round = (value: number): number => Math.round(value * 100) / 100
