import { Presets, SingleBar } from 'cli-progress'
import type { TerminalStream } from './replay-io'

/** Progress through a range of positions; a no-op unless drawn on a terminal. */
export interface Progress {
  /** The position reached and how many events were handled so far. */
  update(position: bigint, events: number): void
  stop(): void
}

const quiet: Progress = { update: () => {}, stop: () => {} }

/**
 * A progress bar over the positions from `after` to `last` on `stream`, with the event rate and
 * an estimated time left; only when the stream is a terminal and `enabled`. Positions are what a
 * filtered read can measure without counting first, so the bar moves with the log, not with the
 * events that pass the filter.
 */
export function createProgress(options: {
  stream: TerminalStream | undefined
  enabled: boolean
  after: bigint
  last: bigint
  label: string
}): Progress {
  const { stream, after, last } = options
  if (!options.enabled || !stream?.isTTY || last <= after) return quiet

  const bar = new SingleBar(
    {
      stream,
      format: `${options.label} {bar} {percentage}% | {events} events | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  )
  const started = performance.now()
  bar.start(Number(last - after), 0, { events: 0, rate: 0 })
  return {
    update(position, events) {
      const seconds = (performance.now() - started) / 1000
      const rate = seconds > 0 ? Math.round(events / seconds) : 0
      bar.update(Number(position - after), { events, rate })
    },
    stop: () => bar.stop(),
  }
}
