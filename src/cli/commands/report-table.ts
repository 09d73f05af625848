import type { AnalyticsReport, Distribution } from '../../projections/analytics/index'

/** A duration for people: ms below a second, then seconds, minutes, hours; '-' for none. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}

/** A count with thousands separators. */
export const formatCount = (n: number): string => n.toLocaleString('en-US')

/** A share as a percentage with one decimal; '-' when the whole is zero. */
export const formatShare = (part: number, whole: number): string =>
  whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`

/** The report as plain-text tables, for a terminal. */
export function renderReportTables(report: AnalyticsReport): string {
  const { conversations, delivery } = report
  const reasons = Object.entries(conversations.closedByReason)
    .map(([reason, n]) => `${reason} ${formatCount(n)}`)
    .join(', ')
  const sections = [
    `Parley report: ${formatCount(report.events)} conversation events\n` +
      `Conversations: ${formatCount(conversations.opened)} opened, ` +
      `${formatCount(conversations.closed)} closed${reasons ? ` (${reasons})` : ''}`,

    section(
      'Agents: first response (first user message owed an answer to the reply) and time to close',
      [
        'agent',
        'assigned',
        'answered',
        'unanswered',
        'reply p50',
        'reply p90',
        'closed',
        'close p50',
        'close p90',
      ],
      report.agents.map((a) => [
        a.agentId,
        formatCount(a.assignments),
        formatCount(a.firstResponse.count),
        formatCount(a.unanswered),
        formatDuration(a.firstResponse.p50),
        formatDuration(a.firstResponse.p90),
        formatCount(a.timeToClose.count),
        formatDuration(a.timeToClose.p50),
        formatDuration(a.timeToClose.p90),
      ]),
    ),

    section(
      'Conversations per day (UTC)',
      ['day', 'opened', 'closed'],
      report.days.map((d) => [d.day, formatCount(d.opened), formatCount(d.closed)]),
    ),

    section(
      'Messages per format',
      ['format', 'from users', 'from agents', 'total'],
      report.formats.map((f) => [f.format, ...[f.user, f.agent, f.total].map(formatCount)]),
    ),

    section(
      `Pushes per message (per message and recipient; mean ${formatMean(delivery.pushesPerMessage.mean)})`,
      ['pushes', 'deliveries', 'share'],
      delivery.pushesPerMessage.histogram.map((h) => [
        String(h.pushes),
        formatCount(h.deliveries),
        formatShare(h.deliveries, delivery.deliveries),
      ]),
    ),

    section(
      'Acknowledgement latency (first push to acknowledgement)',
      ['acknowledged', 'mean', 'p50', 'p90', 'p99', 'max'],
      [distributionRow(delivery.ackLatency)],
    ) +
      (delivery.ackedWithoutPush > 0
        ? `\n(${formatCount(delivery.ackedWithoutPush)} acknowledged without a recorded push)`
        : ''),

    section(
      'Messages never acknowledged, by recipient',
      ['recipient', 'deliveries', 'unacknowledged', 'share', 'abandoned', 'pending'],
      delivery.unacknowledged.map((u) => [
        u.recipientRole,
        formatCount(u.deliveries),
        formatCount(u.unacknowledged),
        formatShare(u.unacknowledged, u.deliveries),
        formatCount(u.abandoned),
        formatCount(u.pending),
      ]),
    ),

    section(
      'Messages never pushed to anyone, by sender',
      ['sender', 'messages'],
      delivery.neverPushed.map((n) => [n.senderRole, formatCount(n.messages)]),
    ),
  ]
  return `${sections.join('\n\n')}\n`
}

function distributionRow(d: Distribution): string[] {
  return [formatCount(d.count), ...[d.mean, d.p50, d.p90, d.p99, d.max].map(formatDuration)]
}

const formatMean = (mean: number | null): string => (mean === null ? '-' : mean.toFixed(2))

/** A titled table: the first column left-aligned, the others right-aligned. */
function section(title: string, headers: string[], rows: string[][]): string {
  if (rows.length === 0) return `${title}\n  (none)`

  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd()
  return [title, ...[headers, ...rows].map((cells) => `  ${line(cells)}`)].join('\n')
}
