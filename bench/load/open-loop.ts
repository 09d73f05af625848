import { Latencies, type LatencySummary } from '../support/histogram'
import { pause } from '../support/child'
import { diffSamples, sampleProcess, type ProcessDelta, type ProcessSample } from '../support/rpc'
import type { Fleet } from './fleet'

/** The first message of a step is due this long after the step is set up: 20 ms. */
export const START_DELAY_MS = 20
/** A step keeps up when this share of its messages arrived within the drain time: 95 %. */
export const KEEP_UP_SHARE = 0.95
/** ...and its send-to-receipt p99 stayed under this: 250 ms. */
export const KEEP_UP_P99_MS = 250
/** An event loop busier than this share of the time is saturated: 90 %. */
export const SATURATED_ELU = 0.9
// Content of each message besides its step and index: about 100 bytes of text, a typical chat line.
const PAD =
  'Where is my order? It was due on Tuesday and the tracking page still says label created.'

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
  const interval = 1000 / o.rate
  const delivered = new Uint8Array(total)
  const answered = new Uint8Array(total)
  const receipt = new Latencies()
  const sentRtt = new Latencies()
  const lag = new Latencies()
  const errors: Record<string, number> = {}
  const tally = { delivered: 0, duplicates: 0, answered: 0, lastDeliveryAt: 0 }
  const textPrefix = `${o.step}:`
  const idPrefix = `s${o.step}-`
  let t0 = 0
  const dueAt = (k: number): number => t0 + k * interval
  const countError = (code: unknown) => (errors[String(code)] = (errors[String(code)] ?? 0) + 1)

  // 1. Listeners: receipts at the agents, `sent` answers at the users.
  for (const agent of fleet.agents) {
    agent.onFrame = (f) => {
      if (f.type === 'error') return countError(f.code)
      if (f.type !== 'message') return
      const text = (f.content as { text?: unknown } | undefined)?.text
      if (typeof text !== 'string' || !text.startsWith(textPrefix)) return
      const k = Number(text.slice(textPrefix.length, text.indexOf(':', textPrefix.length)))
      if (!(k >= 0 && k < total)) return
      if (delivered[k] === 1) {
        tally.duplicates += 1
        return
      }
      const now = performance.now()
      delivered[k] = 1
      tally.delivered += 1
      tally.lastDeliveryAt = now
      receipt.recordMs(now - dueAt(k))
    }
  }
  for (const { socket } of fleet.users) {
    socket.onFrame = (f) => {
      if (f.type === 'error') return countError(f.code)
      const id = f.clientMsgId
      if (f.type !== 'sent' || typeof id !== 'string' || !id.startsWith(idPrefix)) return
      const k = Number(id.slice(idPrefix.length))
      if (!(k >= 0 && k < total) || answered[k] === 1) return
      answered[k] = 1
      tally.answered += 1
      sentRtt.recordMs(performance.now() - dueAt(k))
    }
  }

  const serverBefore = await server.sample()
  const commitsBefore = await server.commits?.()
  const genBefore = sampleProcess()

  // 2. Send on schedule; one timer, every due message sent when it fires.
  t0 = performance.now() + START_DELAY_MS
  let next = 0
  await new Promise<void>((done) => {
    const tick = (): void => {
      for (let now = performance.now(); next < total && dueAt(next) <= now; next++) {
        const user = fleet.users[next % fleet.users.length]
        user.socket.send({
          type: 'send',
          clientMsgId: `${idPrefix}${next}`,
          conversationId: user.conversationId,
          content: { format: 'text', text: `${textPrefix}${next}:${PAD}` },
        })
        lag.recordMs(now - dueAt(next))
        now = performance.now()
      }
      if (next >= total) return done()
      setTimeout(tick, Math.max(0, Math.floor(dueAt(next) - performance.now())))
    }
    setTimeout(tick, START_DELAY_MS)
  })

  // 3. Drain: bounded by the step's end plus the drain time.
  const deadline = dueAt(total) + o.drainMs
  while ((tally.delivered < total || tally.answered < total) && performance.now() < deadline) {
    await pause(5)
  }

  const genDelta = diffSamples(genBefore, sampleProcess())
  const serverDelta = diffSamples(serverBefore, await server.sample())
  const commitsAfter = await server.commits?.()
  for (const agent of fleet.agents) agent.onFrame = () => {}
  for (const { socket } of fleet.users) socket.onFrame = () => {}

  // 4. Figures.
  const spanSeconds = Math.max(o.seconds, (tally.lastDeliveryAt - t0) / 1000)
  const sendToReceipt = receipt.summary()
  const keptUp =
    tally.delivered >= KEEP_UP_SHARE * total && (sendToReceipt.p99Ms ?? Infinity) <= KEEP_UP_P99_MS
  const busiest = Math.max(serverDelta.eventLoopUtilization, genDelta.eventLoopUtilization)
  const limitedBy =
    keptUp && busiest < SATURATED_ELU
      ? 'none'
      : genDelta.eventLoopUtilization > serverDelta.eventLoopUtilization
        ? 'load generator'
        : 'server'

  return {
    rate: o.rate,
    seconds: o.seconds,
    scheduled: total,
    delivered: tally.delivered,
    duplicates: tally.duplicates,
    sentAnswers: tally.answered,
    errors,
    deliveredPerSecond: round(tally.delivered / spanSeconds),
    sendToReceipt,
    sentRoundTrip: sentRtt.summary(),
    sendLag: lag.summary(),
    server: {
      ...serverDelta,
      cpuMicrosPerMessage:
        tally.delivered > 0 ? round(serverDelta.cpuMicros / tally.delivered) : null,
    },
    loadGenerator: genDelta,
    ...(commitsBefore &&
      commitsAfter && {
        commits: {
          fsyncsPerSecond: round(
            (commitsAfter.transactions - commitsBefore.transactions) / (serverDelta.wallMs / 1000),
          ),
          eventsPerMessage: round(
            (commitsAfter.events - commitsBefore.events) / Math.max(1, tally.delivered),
          ),
          appendsPerCommit: round(
            (commitsAfter.appends - commitsBefore.appends) /
              Math.max(1, commitsAfter.transactions - commitsBefore.transactions),
          ),
        },
      }),
    keptUp,
    limitedBy,
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
