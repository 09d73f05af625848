import type { Command } from 'commander'
import type { Difference } from '../../projections/rebuild/compare'
import {
  progressReporter,
  rate,
  withReadModelOptions,
  withStores,
  type ReadModelCommandOptions,
  type RebuildIo,
} from './rebuild'

const show = (value: unknown): string =>
  value === undefined ? '(absent)' : (JSON.stringify(value) ?? String(value))

/** The lines that describe one difference, each naming the collection and the key. */
export function describeDifference(difference: Difference): string[] {
  const where = `${difference.collection} ${difference.key}`
  switch (difference.kind) {
    case 'changed':
      return difference.fields.map(
        ({ path, live, rebuilt }) =>
          `${where}: ${path}: live ${show(live)}, rebuilt ${show(rebuilt)}`,
      )
    case 'missing':
      return [`${where}: missing from live; rebuilt ${show(difference.rebuilt)}`]
    case 'extra':
      return [`${where}: extra in live, not in the rebuild; live ${show(difference.live)}`]
  }
}

/** Registers `parley verify`: rebuild into a shadow, compare with the live read models. */
export function registerVerifyCommand(program: Command, io: RebuildIo): void {
  withReadModelOptions(program.command('verify'))
    .description(
      'rebuild read models beside the live ones and print every difference; exits 1 if any',
    )
    .addHelpText('after', '\nWhat is compared and how: docs/read-models-ops.md.')
    .action(async (options: ReadModelCommandOptions) => {
      const { verifyProjection } = await import('../../projections/rebuild/verify')
      const differing: string[] = []

      await withStores(options, io, async ({ events, readModels, projections }) => {
        for (const projection of projections) {
          const progress = progressReporter(io, 'verify')
          const result = await verifyProjection({
            events,
            readModels,
            projection,
            onProgress: progress.update,
            onDifference: (difference) =>
              describeDifference(difference).forEach((line) => io.out(`${line}\n`)),
          }).finally(progress.stop)

          const where = `verified ${result.projection} at position ${result.position}`
          const speed = `${result.events} events replayed, ${rate(result.events, result.elapsedMs)} events/s`
          if (result.differences === 0) {
            io.out(`${where}: equal (${result.live} docs; ${speed})\n`)
            continue
          }
          differing.push(result.projection)
          const count = `${result.differences} difference${result.differences === 1 ? '' : 's'}`
          io.out(
            `${where}: ${count} ` +
              `(live ${result.live} docs, rebuilt ${result.rebuilt}; ${speed})\n`,
          )
        }
      })

      // A thrown error is how `run` exits with EXIT_FAILURE.
      if (differing.length > 0) {
        throw new Error(`read models differ from the log: ${differing.join(', ')}`)
      }
    })
}
