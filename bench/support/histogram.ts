import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'

/** Highest latency a histogram holds: 10 minutes in µs; larger values are clamped to it. */
export const MAX_TRACKED_MICROS = 600_000_000

/** Percentiles of a latency histogram, in milliseconds. */
export interface LatencySummary {
  count: number
  p50Ms: number | null
  p90Ms: number | null
  p99Ms: number | null
  p999Ms: number | null
  maxMs: number | null
  meanMs: number | null
}

/**
 * A latency histogram in µs on Node's own HDR histogram (perf_hooks.createHistogram), which is
 * enough for p99.9 at 3 significant figures with no extra dependency.
 */
export class Latencies {
  private readonly histogram: RecordableHistogram = createHistogram({
    lowest: 1,
    highest: MAX_TRACKED_MICROS,
    figures: 3,
  })

  /** Records one latency given in milliseconds (fractions kept to the µs). */
  recordMs(ms: number): void {
    const micros = Math.round(ms * 1000)
    this.histogram.record(Math.min(MAX_TRACKED_MICROS, Math.max(1, micros)))
  }

  get count(): number {
    return this.histogram.count
  }

  summary(): LatencySummary {
    const h = this.histogram
    if (h.count === 0) {
      const none = null
      return {
        count: 0,
        p50Ms: none,
        p90Ms: none,
        p99Ms: none,
        p999Ms: none,
        maxMs: none,
        meanMs: none,
      }
    }
    const ms = (micros: number): number => Math.round(micros) / 1000
    return {
      count: h.count,
      p50Ms: ms(h.percentile(50)),
      p90Ms: ms(h.percentile(90)),
      p99Ms: ms(h.percentile(99)),
      p999Ms: ms(h.percentile(99.9)),
      maxMs: ms(h.max),
      meanMs: ms(h.mean),
    }
  }
}
