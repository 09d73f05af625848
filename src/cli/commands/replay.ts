import { type Command, Option } from 'commander'
import type { ReplayIo } from './replay-io'
import {
  ReplayFormat,
  collectBound,
  collectCategories,
  collectList,
  type ReplayOptions,
} from './replay-options'

/** Registers `parley replay`: the event log as NDJSON or CSV, filtered, resumable. */
export function registerReplayCommand(program: Command, io: ReplayIo): void {
  program
    .command('replay')
    .description('stream stored events as NDJSON (default) or CSV, in log order')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(Object.values(ReplayFormat))
        .default(ReplayFormat.Ndjson),
    )
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--append', 'with --out: add to the file (as a resume does) instead of replacing it')
    .option('--stream <name>', 'only this stream; repeatable or comma-separated', collectList)
    .option('--conversation <id>', "only this conversation's stream; repeatable", collectList)
    .option(
      '--category <names>',
      'only these categories (conversation, agent, customer, presence); repeatable or comma-separated',
      collectCategories,
    )
    .option('--type <types>', 'only these event types; repeatable or comma-separated', collectList)
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
    .addHelpText(
      'after',
      '\nOn Ctrl-C the replay stops after the current line and prints the command that resumes' +
        '\nit. Formats, filters and resuming: docs/analysts.md.',
    )
    .action(async (options: ReplayOptions, command: Command) => {
      if (options.append && options.out === undefined) {
        // Commander's error is a usage error: `run` exits with EXIT_USAGE.
        command.error('error: --append needs --out')
      }

      // Loaded only when asked for, so `parley token` does not open SQLite or load CSV code.
      const { runReplay } = await import('./replay-run')
      await runReplay(options, io)
    })
}
