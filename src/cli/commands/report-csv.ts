import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'csv-stringify/sync'
import type { AnalyticsReport, Distribution } from '../../projections/analytics/index'

/** The files `parley report --csv DIR` writes, each with a header row; durations in ms. */
export const REPORT_CSV_FILES = {
  agents: 'agents.csv',
  days: 'conversations-per-day.csv',
  formats: 'messages-per-format.csv',
  pushes: 'pushes-per-message.csv',
  ackLatency: 'ack-latency.csv',
  unacknowledged: 'unacknowledged.csv',
  neverPushed: 'never-pushed.csv',
} as const

type Cell = string | number | null

/** The report as CSV tables, by file name. */
export function reportCsvTables(report: AnalyticsReport): Record<string, Cell[][]> {
  const { delivery } = report
  return {
    [REPORT_CSV_FILES.agents]: [
      [
        'agentId',
        'assignments',
        'unanswered',
        ...distributionColumns('firstResponse'),
        ...distributionColumns('timeToClose'),
      ],
      ...report.agents.map((a) => [
        a.agentId,
        a.assignments,
        a.unanswered,
        ...distributionCells(a.firstResponse),
        ...distributionCells(a.timeToClose),
      ]),
    ],
    [REPORT_CSV_FILES.days]: [
      ['day', 'opened', 'closed'],
      ...report.days.map((d) => [d.day, d.opened, d.closed]),
    ],
    [REPORT_CSV_FILES.formats]: [
      ['format', 'user', 'agent', 'total'],
      ...report.formats.map((f) => [f.format, f.user, f.agent, f.total]),
    ],
    [REPORT_CSV_FILES.pushes]: [
      ['pushes', 'deliveries'],
      ...delivery.pushesPerMessage.histogram.map((h) => [h.pushes, h.deliveries]),
    ],
    [REPORT_CSV_FILES.ackLatency]: [
      [...distributionColumns('ackLatency'), 'ackedWithoutPush'],
      [...distributionCells(delivery.ackLatency), delivery.ackedWithoutPush],
    ],
    [REPORT_CSV_FILES.unacknowledged]: [
      ['recipientRole', 'deliveries', 'unacknowledged', 'abandoned', 'pending'],
      ...delivery.unacknowledged.map((u) => [
        u.recipientRole,
        u.deliveries,
        u.unacknowledged,
        u.abandoned,
        u.pending,
      ]),
    ],
    [REPORT_CSV_FILES.neverPushed]: [
      ['senderRole', 'messages'],
      ...delivery.neverPushed.map((n) => [n.senderRole, n.messages]),
    ],
  }
}

/** Writes every table into `dir` (created if missing); returns the paths written. */
export async function writeReportCsv(report: AnalyticsReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const written: string[] = []
  for (const [file, rows] of Object.entries(reportCsvTables(report))) {
    const path = join(dir, file)
    await writeFile(path, stringify(rows))
    written.push(path)
  }
  return written
}

const distributionColumns = (prefix: string): string[] => [
  `${prefix}Count`,
  ...['Mean', 'P50', 'P90', 'P99', 'Max'].map((s) => `${prefix}${s}Ms`),
]

function distributionCells(d: Distribution): Cell[] {
  const mean = d.mean === null ? null : Math.round(d.mean * 10) / 10
  return [d.count, mean, d.p50, d.p90, d.p99, d.max]
}
