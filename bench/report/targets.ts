import type { BenchReport, TargetVerdict } from './report'

/** The targets; ratios are against baselines measured in the same run. */
export const TARGETS = {
  kneeVsRelay: 0.5,
  cpuMicrosPerMessage: 60,
  halfKneeP50Ms: 2,
  halfKneeP99Ms: 10,
  sentP99Ms: 10,
  idleMemoryVsRelay: 2,
  heartbeatCoreShare: 0.01,
  appendVsRaw: 0.5,
  readAllVsRawScan: 0.4,
  rebuildEventsPerSecond: 100_000,
} as const

type Input = Pick<BenchReport, 'throughput' | 'idle' | 'append' | 'replay'>

/** Judges every target; a target whose scenario did not run is listed with `met: null`. */
export function judgeTargets(r: Input): TargetVerdict[] {
  return [...throughputTargets(r), ...idleTargets(r), ...appendTargets(r), ...replayTargets(r)]
}

function verdict(
  id: string,
  label: string,
  value: number | null | undefined,
  unit: string,
  goal: string,
  /** Whether `v` meets the goal; null when it cannot tell (an upper bound above the goal). */
  ok: (v: number) => boolean | null,
  note?: string,
): TargetVerdict {
  const v = value === undefined || value === null || !Number.isFinite(value) ? null : round(value)
  return { id, label, value: v, unit, goal, met: v === null ? null : ok(v), ...(note && { note }) }
}

function throughputTargets({ throughput: t }: Input): TargetVerdict[] {
  const parleyKnee = t?.parley.knee.deliveredPerSecond
  const relayKnee = t?.relay.knee.deliveredPerSecond
  // Parley kept up at no step: its knee is below the first rate, whose delivery bounds the ratio.
  const firstStep = t?.parley.steps[0]
  const bound = parleyKnee == null && firstStep && relayKnee ? firstStep.deliveredPerSecond : null
  const ratio = relayKnee ? (parleyKnee ?? bound ?? NaN) / relayKnee : null
  const notes: string[] = []
  if (bound !== null) notes.push('Parley kept up at no step: the ratio is an upper bound')
  if (t && t.relay.knee.firstMissedRate === null)
    notes.push('relay never missed: its knee is higher')
  if (t?.relay.knee.limitedBy === 'load generator')
    notes.push('relay knee capped by the load generator')
  if (t && t.parley.knee.firstMissedRate === null)
    notes.push('Parley never missed: its knee is higher')
  const half = t?.parley.halfKnee
  const at = half ? `at ${half.rate}/s` : undefined
  return [
    verdict(
      'knee',
      'knee throughput vs bare relay',
      ratio,
      'x',
      `>= ${TARGETS.kneeVsRelay}x`,
      (v) => (v >= TARGETS.kneeVsRelay ? (bound === null ? true : null) : false),
      [`${parleyKnee ?? '?'} vs ${relayKnee ?? '?'} msgs/s`, ...notes].join('; '),
    ),
    verdict(
      'cpu-per-message',
      'server CPU per delivered message',
      half?.server.cpuMicrosPerMessage,
      'µs',
      `<= ${TARGETS.cpuMicrosPerMessage} µs`,
      (v) => v <= TARGETS.cpuMicrosPerMessage,
      at,
    ),
    verdict(
      'half-knee-p50',
      'send-to-receipt p50 at half knee',
      half?.sendToReceipt.p50Ms,
      'ms',
      `<= ${TARGETS.halfKneeP50Ms} ms`,
      (v) => v <= TARGETS.halfKneeP50Ms,
      at,
    ),
    verdict(
      'half-knee-p99',
      'send-to-receipt p99 at half knee',
      half?.sendToReceipt.p99Ms,
      'ms',
      `<= ${TARGETS.halfKneeP99Ms} ms`,
      (v) => v <= TARGETS.halfKneeP99Ms,
      at,
    ),
    verdict(
      'sent-p99',
      'durable `sent` round trip p99 at half knee',
      half?.sentRoundTrip.p99Ms,
      'ms',
      `<= ${TARGETS.sentP99Ms} ms`,
      (v) => v <= TARGETS.sentP99Ms,
      at,
    ),
  ]
}

function idleTargets({ idle }: Input): TargetVerdict[] {
  const parley = idle?.parley.rssPerConnectionBytes
  const relay = idle?.relay.rssPerConnectionBytes
  const ratio = parley != null && relay ? parley / relay : null
  const conns = idle ? `at ${idle.parley.connected} connections` : undefined
  return [
    verdict(
      'idle-memory',
      'idle memory per connection vs bare ws',
      ratio,
      'x',
      `<= ${TARGETS.idleMemoryVsRelay}x`,
      (v) => v <= TARGETS.idleMemoryVsRelay,
      idle ? `${parley} vs ${relay} B RSS per connection` : undefined,
    ),
    verdict(
      'heartbeat-cpu',
      'heartbeat CPU, share of one core',
      idle?.parley.window.cpuCoreShare,
      'core',
      `<= ${TARGETS.heartbeatCoreShare}`,
      (v) => v <= TARGETS.heartbeatCoreShare,
      idle ? `${conns}, relay ${round(idle.relay.window.cpuCoreShare)}` : undefined,
    ),
  ]
}

function appendTargets({ append }: Input): TargetVerdict[] {
  if (!append)
    return [
      verdict(
        'append',
        'appends vs raw better-sqlite3',
        null,
        'x',
        `>= ${TARGETS.appendVsRaw}x`,
        () => false,
      ),
    ]
  return append.store.map((s, i) => {
    const raw = append.raw[i]
    return verdict(
      `append-${s.writers}`,
      `appends, ${s.writers} writer(s), vs raw batch ${raw.batch}`,
      s.appendsPerSecond / raw.rowsPerSecond,
      'x',
      `>= ${TARGETS.appendVsRaw}x`,
      (v) => v >= TARGETS.appendVsRaw,
      `${s.appendsPerSecond} vs ${raw.rowsPerSecond} per s`,
    )
  })
}

function replayTargets({ replay }: Input): TargetVerdict[] {
  const ratio = replay ? replay.readAll.eventsPerSecond / replay.rawScan.eventsPerSecond : null
  const events = replay ? `${replay.log.events} events` : undefined
  return [
    verdict(
      'replay',
      'replay (readAll) vs raw scan',
      ratio,
      'x',
      `>= ${TARGETS.readAllVsRawScan}x`,
      (v) => v >= TARGETS.readAllVsRawScan,
      replay
        ? `${replay.readAll.eventsPerSecond} vs ${replay.rawScan.eventsPerSecond} events/s, ` +
            `${events}`
        : undefined,
    ),
    verdict(
      'rebuild',
      'read-model rebuild',
      replay?.rebuild.eventsPerSecond,
      'events/s',
      `>= ${TARGETS.rebuildEventsPerSecond}`,
      (v) => v >= TARGETS.rebuildEventsPerSecond,
      replay && !replay.rebuild.complete ? `${events}; stopped at the time limit` : events,
    ),
  ]
}

const round = (value: number): number => Math.round(value * 1000) / 1000
