import { writeFile } from 'node:fs/promises'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { ParleyError } from '../../domain/shared/errors'
import { StreamCategory } from '../../domain/shared/streams'
import { loadConfig } from '../../infra/config/config'
import {
  analyticsReport,
  evolveAnalytics,
  initialAnalyticsState,
  type AnalyticsReport,
} from '../../projections/analytics/index'
import { writeReportCsv } from './report-csv'
import { loadChartJs, renderReportHtml } from './report-html'
import { renderReportTables } from './report-table'
import { interruptSignal, type ReplayIo } from './replay-io'
import { filterOf, type Bound, type EventFilter } from './replay-options'
import { createProgress } from './replay-progress'
import { openEventLog, selectEvents } from './replay-source'

/** The command line of `parley report` as commander parses it. */
export interface ReportOptions {
  csv?: string
  html?: string
  from?: Bound[]
  to?: Bound[]
  dataDir?: string
  progress: boolean
}

/** Code of a report stopped by Ctrl-C (or its signal): nothing was written. */
export const REPORT_INTERRUPTED = 'report_interrupted' as const

/** Events folded between two looks at the signal and the progress bar: 4096. */
const EVENTS_PER_TURN = 4096

/**
 * `parley report`: folds the conversation events of the window into the analytics report and
 * prints it as tables, or writes CSV files and an HTML page. Resolves to the report.
 */
export async function runReport(options: ReportOptions, io: ReplayIo): Promise<AnalyticsReport> {
  // 1. Read and fold: the report needs the conversation category only.
  const filter: EventFilter = { ...filterOf(options), categories: [StreamCategory.Conversation] }
  const config = options.dataDir === undefined ? loadConfig(io.env) : undefined
  const source = { dataDir: options.dataDir, eventStoreUrl: config?.eventStoreUrl }
  const store = openEventLog(source, config?.dataDir)
  const interrupt = interruptSignal(io)
  let state = initialAnalyticsState()
  try {
    const progress = createProgress({
      stream: io.stderr,
      enabled: options.progress,
      label: 'report',
      after: filter.afterPosition ?? 0n,
      last: filter.toPosition ?? (await store.headPosition()),
    })
    let events = 0
    try {
      for await (const event of await selectEvents(store, filter)) {
        state = evolveAnalytics(state, event)
        events += 1
        if (events % EVENTS_PER_TURN !== 0) continue
        progress.update(event.position, events)
        // A turn of the event loop, so that Ctrl-C and the bar's timer get their chance.
        await nextTurn()
        if (interrupt.signal.aborted) break
      }
    } finally {
      progress.stop()
    }
  } finally {
    interrupt.release()
    await store.close()
  }
  if (interrupt.signal.aborted) {
    throw new ParleyError(REPORT_INTERRUPTED, 'report interrupted: nothing was written')
  }

  // 2. Out: tables by default, else the files asked for.
  const report = analyticsReport(state)
  if (options.csv === undefined && options.html === undefined) {
    io.out(renderReportTables(report))
    return report
  }
  if (options.csv !== undefined) {
    const files = await writeReportCsv(report, options.csv)
    io.err(`parley: wrote ${files.length} CSV files to ${options.csv}\n`)
  }
  if (options.html !== undefined) {
    const meta = { generatedAt: new Date().toISOString(), window: describeWindow(filter) }
    await writeFile(options.html, renderReportHtml(report, meta, loadChartJs()))
    io.err(`parley: wrote ${options.html}\n`)
  }
  return report
}

/** The window of the log a filter reads, in words, for the page's header. */
export function describeWindow(filter: EventFilter): string {
  const parts: string[] = []
  if (filter.afterPosition !== undefined) parts.push(`after position ${filter.afterPosition}`)
  if (filter.toPosition !== undefined) parts.push(`up to position ${filter.toPosition}`)
  if (filter.fromTime !== undefined) {
    parts.push(`recorded from ${new Date(filter.fromTime).toISOString()}`)
  }
  if (filter.toTime !== undefined) {
    parts.push(`recorded before ${new Date(filter.toTime).toISOString()}`)
  }
  return parts.length === 0 ? 'The whole log' : `Events ${parts.join(', ')}`
}
