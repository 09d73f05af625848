import t from 'tap'
import {
  DEFAULT_EPOCH,
  compareSnowflakes,
  createSnowflake,
  snowflakeTime,
} from '../../../src/infra/ids/snowflake'

/** A clock the test moves by hand. */
function givenClock(start = DEFAULT_EPOCH + 1_000_000) {
  let time = start
  return { now: () => time, set: (ms: number) => (time = ms), start }
}

/** Every id greater than the one before it, compared as numbers. */
function strictlyIncreasing(ids: string[]): boolean {
  return ids.every((id, i) => i === 0 || BigInt(id) > BigInt(ids[i - 1]))
}

const take = (generator: { next(): string }, count: number): string[] =>
  Array.from({ length: count }, () => generator.next())

t.test('encodes time, worker id and sequence in 41, 10 and 12 bits', async (t) => {
  const clock = givenClock()
  const ids = createSnowflake({ workerId: 1023, now: clock.now })

  const [first, second] = take(ids, 2).map(BigInt)

  t.equal(first >> 22n, BigInt(clock.start - DEFAULT_EPOCH))
  t.equal((first >> 12n) & 0x3ffn, 1023n)
  t.equal(first & 0xfffn, 0n)
  t.equal(second & 0xfffn, 1n)
  t.equal(snowflakeTime(first.toString()), clock.start)
})

t.test('keeps ids unique and increasing when the clock steps back', async (t) => {
  // Given ids issued at a time
  const clock = givenClock()
  const ids = createSnowflake({ workerId: 7, now: clock.now })
  const before = take(ids, 10)

  // When the clock steps back a minute, then slowly comes forward again
  clock.set(clock.start - 60_000)
  const during = take(ids, 10)
  clock.set(clock.start + 1)
  const after = take(ids, 10)

  // Then
  const all = [...before, ...during, ...after]
  t.ok(strictlyIncreasing(all))
  t.equal(new Set(all).size, all.length)
  t.equal(snowflakeTime(during[9]), clock.start, 'the stepped-back ids keep the last timestamp')
})

t.test('borrows the next millisecond beyond 4096 ids in one millisecond', async (t) => {
  // Given a frozen clock
  const clock = givenClock()
  const ids = createSnowflake({ workerId: 3, now: clock.now })

  // When 20,000 ids are asked within that millisecond
  const all = take(ids, 20_000)

  // Then they stay unique and increasing, spread over the following milliseconds
  t.ok(strictlyIncreasing(all))
  t.equal(new Set(all).size, all.length)
  t.equal(snowflakeTime(all[4095]), clock.start)
  t.equal(snowflakeTime(all[4096]), clock.start + 1)
  t.equal(snowflakeTime(all[19_999]), clock.start + Math.floor(19_999 / 4096))
})

t.test('issues ids after the newest stored one when seeded with minTimestamp', async (t) => {
  // Given the newest stored id, issued before a restart by a clock that was ahead
  const clock = givenClock()
  const newest = take(createSnowflake({ workerId: 5, now: clock.now }), 1)[0]

  // When a new generator starts on a clock an hour behind, seeded from storage
  clock.set(clock.start - 3_600_000)
  const ids = createSnowflake({ workerId: 5, now: clock.now, minTimestamp: snowflakeTime(newest) })
  const next = take(ids, 3)

  // Then it cannot repeat the stored id, nor go below it
  t.ok(strictlyIncreasing([newest, ...next]))
  t.equal(snowflakeTime(next[0]), clock.start + 1)
})

t.test('compares ids as numbers, where comparing text would be wrong', async (t) => {
  const short = '999'
  const long = '1000'

  t.ok(short > long, 'as text the shorter id sorts last')
  t.equal(compareSnowflakes(short, long), -1)
  t.same([long, short, '5'].sort(compareSnowflakes), ['5', short, long])
})

t.test('rejects a worker id outside 0 to 1023', async (t) => {
  for (const workerId of [-1, 1024, 1.5, Number.NaN]) {
    t.throws(() => createSnowflake({ workerId }), RangeError, `worker id ${workerId}`)
  }
  t.doesNotThrow(() => createSnowflake({ workerId: 0 }))
})

t.test('refuses to issue an id for a time before its epoch', async (t) => {
  const ids = createSnowflake({ workerId: 1, now: () => DEFAULT_EPOCH - 1 })

  t.throws(() => ids.next(), RangeError)
})
