/**
 * A summary of durations in milliseconds. The percentiles are exact, by the nearest-rank method
 * over every collected value: a report reads each value once, and a few hundred thousand numbers
 * sort in milliseconds. Every field but `count` is null when there are no values.
 */
export interface Distribution {
  count: number
  mean: number | null
  p50: number | null
  p90: number | null
  p99: number | null
  max: number | null
}

/**
 * The nearest-rank percentile of values sorted ascending: the smallest value that at least `p`
 * percent of the values are at or below. Undefined for no values.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number | undefined {
  if (sorted.length === 0) return undefined

  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1]
}

/** The distribution of some values; the input is not changed. */
export function distributionOf(values: readonly number[]): Distribution {
  if (values.length === 0) {
    return { count: 0, mean: null, p50: null, p90: null, p99: null, max: null }
  }

  const sorted = Float64Array.from(values).sort()
  let sum = 0
  for (const value of sorted) sum += value
  const at = (p: number) => percentile(sorted, p) ?? null
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: sorted[sorted.length - 1],
  }
}
