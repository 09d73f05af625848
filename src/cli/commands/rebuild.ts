import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import { Presets, SingleBar } from 'cli-progress'
import { type Command, Option } from 'commander'
import { loadConfig } from '../../infra/config/config'
import type { EventStore } from '../../infra/eventstore/port'
import { ReadModelGenerationError, type ReadModelStore } from '../../infra/readmodel/port'
import type { Projection } from '../../projections/projection'
import { allProjections } from '../../projections/readmodels'
import type { ProgressListener, RebuildProgress } from '../../projections/rebuild/meter'
import { EVENTS_FILE } from '../../infra/data-files'
import type { CliIo } from '../main'

/** What `rebuild` and `verify` use beyond CliIo: a terminal to draw the progress bar on. */
export interface RebuildIo extends CliIo {
  stderr?: Writable & { isTTY?: boolean; columns?: number }
}

/** Options both commands take. */
export interface ReadModelCommandOptions {
  projection?: string
  dataDir?: string
}

/** Least time between two plain progress lines (stderr not a terminal): 1 s. */
export const PROGRESS_LINE_INTERVAL_MS = 1_000

/** Adds `--projection` and `--data-dir` to `rebuild` or `verify`. */
export function withReadModelOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--projection <name>', 'only this read model (default: all)').choices(
        allProjections.map((p) => p.name),
      ),
    )
    .option('--data-dir <dir>', 'where events.sqlite and read-models.sqlite live')
}

/** Registers `parley rebuild`: fresh read models from the log, switched in atomically. */
export function registerRebuildCommand(program: Command, io: RebuildIo): void {
  withReadModelOptions(program.command('rebuild'))
    .description('replay the log into fresh read models and switch to them; safe while serving')
    .addHelpText('after', '\nProcedure and guarantees: docs/read-models-ops.md.')
    .action(async (options: ReadModelCommandOptions) => {
      const { rebuildProjection } = await import('../../projections/rebuild/rebuild')
      await withStores(options, io, async ({ events, readModels, projections }) => {
        for (const projection of projections) {
          const progress = progressReporter(io, 'rebuild')
          const result = await rebuildProjection({
            events,
            readModels,
            projection,
            onProgress: progress.update,
          })
            .catch((err: unknown) => {
              throw err instanceof ReadModelGenerationError
                ? new Error(`another rebuild or verify of ${projection.name} took over its shadow`)
                : err
            })
            .finally(progress.stop)

          const seconds = result.elapsedMs / 1000
          io.out(
            `rebuilt ${result.projection}: ${result.events} events replayed, ` +
              `${result.docs} docs written in ${seconds.toFixed(1)} s ` +
              `(${rate(result.events, result.elapsedMs)} events/s); ` +
              `live at position ${result.position ?? 0n}, generation ${result.generation}\n`,
          )
        }
      })
    })
}

interface Stores {
  events: EventStore
  readModels: ReadModelStore
  projections: readonly Projection[]
}

/** Opens the data directory's stores for `work` and closes them after, whatever happens. */
export async function withStores(
  options: ReadModelCommandOptions,
  io: CliIo,
  work: (stores: Stores) => Promise<void>,
): Promise<void> {
  // The stores the server would use: the data directory's embedded files unless the backend
  // URLs move the events or the read models elsewhere (`--data-dir` names the embedded files).
  const config = loadConfig(io.env)
  const dataDir = options.dataDir ?? config.dataDir
  const effective = { ...config, dataDir }
  const eventsPath = join(dataDir, EVENTS_FILE)
  if (!config.eventStoreUrl && !existsSync(eventsPath)) {
    throw new Error(`no event log at ${eventsPath}`)
  }

  // Loaded only when asked for, so `parley token` stays light.
  const { openEventStore, openReadModelStore } = await import('../../infra/backends')
  const events = openEventStore(effective)
  const readModels = openReadModelStore(effective)
  const projections = allProjections.filter(
    (p) => options.projection === undefined || p.name === options.projection,
  )
  try {
    await work({ events, readModels, projections })
  } finally {
    await events.close()
    await readModels.close()
  }
}

/** Events per second, rounded. */
export const rate = (events: number, elapsedMs: number): number =>
  elapsedMs > 0 ? Math.round((events * 1000) / elapsedMs) : events

/** One progress line: `rebuild messages: replay, 1000 events, 980 docs, 5000 events/s, ...`. */
export function progressLine(verb: string, p: RebuildProgress): string {
  const counts = `${p.events} events, ${p.docs} docs, ${rate(p.events, p.elapsedMs)} events/s`
  return `parley: ${verb} ${p.projection}: ${p.phase}, ${counts}, position ${p.position ?? 0n} of ${p.head}\n`
}

/**
 * Progress on stderr: a bar when it is a terminal, otherwise a line at each change of phase and
 * at most one per `PROGRESS_LINE_INTERVAL_MS` between.
 */
export function progressReporter(
  io: RebuildIo,
  verb: string,
): { update: ProgressListener; stop(): void } {
  // The process's own io carries no stream; its stderr is the terminal, if any.
  const terminal = io.stderr ?? (io.env === process.env ? process.stderr : undefined)
  if (terminal?.isTTY) return progressBar(terminal, verb)

  let phase: string | undefined
  let printedAt = -Infinity
  return {
    update(progress) {
      const due = progress.elapsedMs - printedAt >= PROGRESS_LINE_INTERVAL_MS
      if (progress.phase === phase && !due) return

      phase = progress.phase
      printedAt = progress.elapsedMs
      io.err(progressLine(verb, progress))
    },
    stop: () => undefined,
  }
}

function progressBar(stream: NonNullable<RebuildIo['stderr']>, verb: string) {
  const bar = new SingleBar(
    {
      stream,
      format: `${verb} {projection} {phase} {bar} {percentage}% | {events} events | {docs} docs | {rate}/s`,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  )
  let started = false
  return {
    update(p: RebuildProgress) {
      const payload = { ...p, rate: rate(p.events, p.elapsedMs) }
      const value = Number(p.position ?? 0n)
      if (!started) bar.start(Math.max(1, Number(p.head)), value, payload)
      else bar.update(value, payload)
      bar.setTotal(Math.max(1, Number(p.head)))
      started = true
    },
    stop: () => bar.stop(),
  }
}
