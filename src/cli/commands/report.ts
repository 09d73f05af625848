import type { Command } from 'commander'
import type { ReplayIo } from './replay-io'
import { collectBound } from './replay-options'
import type { ReportOptions } from './report-run'

/** Registers `parley report`: response times, volumes and delivery quality from the log. */
export function registerReportCommand(program: Command, io: ReplayIo): void {
  program
    .command('report')
    .description('analyse the conversations in the log: response times, volumes, delivery')
    .option('--csv <dir>', 'write the tables as CSV files into this directory')
    .option('--html <file>', 'write one self-contained HTML page with charts')
    .option(
      '--from <position|time>',
      'events after this position (exclusive), or recorded at or after this ISO time',
      collectBound,
    )
    .option(
      '--to <position|time>',
      'events up to this position (inclusive), or recorded before this ISO time',
      collectBound,
    )
    .option('--data-dir <dir>', 'where events.sqlite lives (default: PARLEY_DATA_DIR)')
    .option('--no-progress', 'never draw the progress bar (drawn only when stderr is a terminal)')
    .addHelpText('after', '\nWhat each number means: docs/analysts.md.')
    .action(async (options: ReportOptions) => {
      // Loaded only when asked for, as for `replay`.
      const { runReport } = await import('./report-run')
      await runReport(options, io)
    })
}
