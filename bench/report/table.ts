import type { StepResult } from '../load/open-loop'
import type { ProfileSummary } from './cpu-profile'
import type { BenchReport } from './report'

type Cell = string | number | null | undefined

/** A plain-text table (also valid Markdown), columns padded to their widest cell. */
export function renderTable(headers: string[], rows: Cell[][]): string {
  const text = (c: Cell) => (c === null || c === undefined ? '-' : String(c))
  const cells = [headers, ...rows.map((r) => r.map(text))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n')
}

const mark = (met: boolean | null) => (met === null ? 'not run' : met ? 'met' : 'MISSED')
const pct = (share: number | undefined) =>
  share === undefined ? null : `${Math.round(share * 100)}%`
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

/** The whole report as text: machine, targets, then each scenario's figures. */
export function renderReport(r: BenchReport): string {
  const e = r.environment
  const out: string[] = []
  out.push(`Parley ${e.parley} bench (${r.meta.plan}), ${r.meta.startedAt}, ${r.meta.seconds} s`)
  out.push(
    `Node ${e.node}, SQLite ${e.sqlite}, ` +
      Object.entries(e.packages)
        .map(([name, v]) => `${name} ${v}`)
        .join(', '),
  )
  out.push(`${e.cpuModel}, ${e.cores} cores, ${e.memoryGiB} GiB, ${e.os}`)
  const load = r.meta.loadAverage
  out.push(`load average (1 min) at start ${load.start}, at end ${load.end}`)
  const f = e.fsyncProbe
  out.push(
    `fsync probe (${f.count} x 512 B): ${f.fsyncsPerSecond}/s, ` +
      `p50 ${f.latency.p50Ms} ms, p99 ${f.latency.p99Ms} ms`,
  )
  out.push('')
  out.push(
    renderTable(
      ['Target', 'Measured', 'Goal', 'Verdict', 'Detail'],
      r.targets.map((t) => [
        t.label,
        t.value === null ? null : `${t.value} ${t.unit}`,
        t.goal,
        mark(t.met),
        t.note,
      ]),
    ),
  )

  if (r.throughput) {
    const t = r.throughput
    out.push(
      '',
      `Throughput: ${t.pairs} pairs (${t.connections} sockets), open loop, ` +
        'latency from the intended send time',
    )
    const steps = [
      ...t.parley.steps.map((s) => ['Parley', s] as const),
      ...(t.parley.halfKnee ? [['Parley half knee', t.parley.halfKnee] as const] : []),
      ...t.relay.steps.map((s) => ['relay', s] as const),
      ...(t.relay.atParleyHalfKnee ? [['relay same rate', t.relay.atParleyHalfKnee] as const] : []),
    ]
    out.push(
      renderTable(
        STEP_HEADERS,
        steps.map(([label, s]) => stepRow(label, s)),
      ),
    )
  }

  if (r.idle) {
    const i = r.idle
    out.push(
      '',
      `Idle: ${i.connections} connections over ${i.clientProcesses} client processes, ` +
        `heartbeat every ${i.heartbeatMs} ms`,
    )
    out.push(
      renderTable(
        [
          'Server',
          'Connected',
          'RSS/conn',
          'Heap/conn',
          'CPU (core)',
          'µs/heartbeat',
          'HB RTT p50',
          'HB RTT p99',
          'Open at end',
        ],
        (['parley', 'relay'] as const).map((k) => {
          const s = i[k]
          return [
            k,
            s.connected,
            kb(s.rssPerConnectionBytes),
            kb(s.heapPerConnectionBytes),
            `${pct(s.window.cpuCoreShare)} (sys ${pct(s.window.systemCoreShare)})`,
            s.serverMicrosPerHeartbeat,
            s.heartbeatRoundTrip.p50Ms,
            s.heartbeatRoundTrip.p99Ms,
            s.openAtEnd,
          ]
        }),
      ),
    )
  }

  if (r.append) {
    const a = r.append
    out.push('', `Append: ${a.seconds} s per measurement, WAL + synchronous=FULL`)
    out.push(
      renderTable(
        [
          'Writers',
          'Store appends/s',
          'p50 ms',
          'p99 ms',
          'Appends/commit',
          'Raw rows/s',
          'Raw batch',
          'Ratio',
        ],
        a.store.map((s, n) => [
          s.writers,
          s.appendsPerSecond,
          s.latency.p50Ms,
          s.latency.p99Ms,
          s.appendsPerCommit,
          a.raw[n].rowsPerSecond,
          a.raw[n].batch,
          (s.appendsPerSecond / a.raw[n].rowsPerSecond).toFixed(2),
        ]),
      ),
    )
  }

  if (r.replay) {
    const p = r.replay
    out.push('', `Replay: ${p.log.events} events (${Math.round(p.log.bytes / 1e6)} MB)`)
    out.push(
      renderTable(
        ['Read', 'Events', 'Seconds', 'Events/s'],
        [
          ['raw scan + JSON.parse', p.rawScan.events, p.rawScan.seconds, p.rawScan.eventsPerSecond],
          ['EventStore.readAll', p.readAll.events, p.readAll.seconds, p.readAll.eventsPerSecond],
          [
            `rebuild, 5 projections${p.rebuild.complete ? '' : ' (partial)'}`,
            p.rebuild.events,
            p.rebuild.seconds,
            p.rebuild.eventsPerSecond,
          ],
        ],
      ),
    )
    out.push(`projections caught up at (s): ${JSON.stringify(p.rebuild.projectionSeconds)}`)
  }

  for (const profile of r.profiles) out.push('', renderProfile(profile))
  for (const failure of r.failures) out.push('', `FAILED ${failure.scenario}: ${failure.error}`)
  return out.join('\n')
}

const STEP_HEADERS = [
  'Server',
  'Offered/s',
  'Delivered/s',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'sent p50',
  'sent p99',
  'Server µs/msg',
  'Server CPU',
  'Server ELU',
  'Gen CPU',
  'Gen lag p99',
  'fsyncs/s',
  'Kept up',
]

function stepRow(label: string, s: StepResult): Cell[] {
  return [
    label,
    s.rate,
    s.deliveredPerSecond,
    s.sendToReceipt.p50Ms,
    s.sendToReceipt.p99Ms,
    s.sendToReceipt.p999Ms,
    s.sentRoundTrip.p50Ms,
    s.sentRoundTrip.p99Ms,
    s.server.cpuMicrosPerMessage,
    `${pct(s.server.cpuCoreShare)} (sys ${pct(s.server.systemCoreShare)})`,
    pct(s.server.eventLoopUtilization),
    pct(s.loadGenerator.cpuCoreShare),
    s.sendLag.p99Ms,
    s.commits?.fsyncsPerSecond,
    s.keptUp ? 'yes' : `no (${s.limitedBy})`,
  ]
}

/** A profile summary: its top functions by self time, its areas and the src/ code charged. */
export function renderProfile(profile: ProfileSummary): string {
  const rows = (list: ProfileSummary['functions'], limit: number) =>
    list.slice(0, limit).map((s) => [s.name, s.selfMs, pct(s.busyShare)])
  return [
    `CPU profile (${profile.scenario}; ${profile.span}; ${profile.file}): ` +
      `${profile.totalMs} ms, ${profile.idleMs} ms idle`,
    renderTable(['Function (self time)', 'ms', 'busy %'], rows(profile.functions, 15)),
    renderTable(['Area (self time)', 'ms', 'busy %'], rows(profile.areas, 20)),
    renderTable(['Charged to src/ function', 'ms', 'busy %'], rows(profile.owners, 15)),
  ].join('\n')
}
