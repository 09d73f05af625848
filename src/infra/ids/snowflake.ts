/**
 * Snowflake ids: 41 bits of milliseconds since an epoch, 10 bits of worker id and 12 bits of
 * sequence, written as a decimal string. They sort by creation time across workers, and within a
 * generator each id is strictly greater than the one before.
 *
 * Compare them as BigInt (`compareSnowflakes`), never as strings: '999' > '1000' as text.
 */

/** Default epoch of the timestamp bits: 2024-01-01T00:00:00Z. */
export const DEFAULT_EPOCH = Date.UTC(2024, 0, 1)

/** Largest worker id: 10 bits. */
export const MAX_WORKER_ID = 1023

const WORKER_BITS = 10n
const SEQUENCE_BITS = 12n
const TIMESTAMP_SHIFT = WORKER_BITS + SEQUENCE_BITS
const MAX_SEQUENCE = 4095
// 2^41 ms is about 69 years after the epoch.
const MAX_ELAPSED_MS = 2 ** 41 - 1

export interface SnowflakeOptions {
  /** This node's id, 0 to `MAX_WORKER_ID`; two live nodes must never share one. */
  workerId: number
  /** Start of the timestamp bits in Unix ms; default `DEFAULT_EPOCH`. */
  epochMs?: number
  /** The clock; default `Date.now`. */
  now?: () => number
  /**
   * Unix ms of the newest id already stored (`snowflakeTime(newestId)`); default none. Every id
   * issued is then later than any id of that millisecond, even if the clock stepped back across
   * a restart.
   */
  minTimestamp?: number
}

export interface Snowflake {
  next(): string
}

export function createSnowflake(options: SnowflakeOptions): Snowflake {
  const { workerId, epochMs = DEFAULT_EPOCH, now = Date.now } = options
  if (!Number.isInteger(workerId) || workerId < 0 || workerId > MAX_WORKER_ID) {
    throw new RangeError(`snowflake worker id must be an integer from 0 to ${MAX_WORKER_ID}`)
  }

  const workerBits = BigInt(workerId) << SEQUENCE_BITS
  let last = -Infinity
  let sequence = 0
  if (options.minTimestamp !== undefined) {
    // As if that millisecond were used up: the first id borrows the one after it.
    last = options.minTimestamp
    sequence = MAX_SEQUENCE
  }

  return {
    next() {
      const time = Math.floor(now())
      if (time > last) {
        last = time
        sequence = 0
      } else if (sequence < MAX_SEQUENCE) {
        // Same millisecond, or the clock stepped back (NTP): keep counting on the last timestamp
        // rather than reuse one that may already have issued these sequence numbers.
        sequence += 1
      } else {
        // 4096 ids in one millisecond: borrow the next one instead of spinning until the clock
        // gets there. A busy-wait would block the event loop; borrowing keeps ids unique and
        // increasing, and the lead it takes is paid back as soon as the burst ends and the
        // clock catches up. Only 4M ids/s sustained per worker would let it grow.
        last += 1
        sequence = 0
      }

      const elapsed = last - epochMs
      if (elapsed < 0 || elapsed > MAX_ELAPSED_MS) {
        throw new RangeError(`snowflake clock ${last} is outside the 41 bits after ${epochMs}`)
      }
      return ((BigInt(elapsed) << TIMESTAMP_SHIFT) | workerBits | BigInt(sequence)).toString()
    },
  }
}

/** The Unix ms timestamp an id was issued at (with the same epoch as the generator). */
export function snowflakeTime(id: string, epochMs: number = DEFAULT_EPOCH): number {
  return Number(BigInt(id) >> TIMESTAMP_SHIFT) + epochMs
}

/** Orders ids numerically, as `Array.prototype.sort` expects: negative, zero or positive. */
export function compareSnowflakes(a: string, b: string): number {
  const x = BigInt(a)
  const y = BigInt(b)
  return x < y ? -1 : x > y ? 1 : 0
}
