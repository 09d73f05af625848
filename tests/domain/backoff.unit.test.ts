import t from 'tap'
import {
  ackWaitAfter,
  DEFAULT_ACK_MAX_ATTEMPTS,
  DEFAULT_ACK_TIMEOUT_MS,
  MAX_BACKOFF_MS,
} from '../../src/domain/delivery/backoff'

t.test('waits one ack timeout after the first push', async (t) => {
  t.equal(ackWaitAfter(1, 1_000), 1_000)
})

t.test('doubles the wait for each earlier push', async (t) => {
  t.same(
    [1, 2, 3, 4, 5].map((attempt) => ackWaitAfter(attempt, 1_000)),
    [1_000, 2_000, 4_000, 8_000, 16_000],
  )
})

t.test('with the defaults, waits 5, 10, 20, 40 and 80 seconds', async (t) => {
  const attempts = Array.from({ length: DEFAULT_ACK_MAX_ATTEMPTS }, (_, i) => i + 1)

  t.same(
    attempts.map((attempt) => ackWaitAfter(attempt, DEFAULT_ACK_TIMEOUT_MS)),
    [5_000, 10_000, 20_000, 40_000, 80_000],
  )
})

t.test('never waits longer than the cap', async (t) => {
  t.equal(MAX_BACKOFF_MS, 300_000)
  t.equal(ackWaitAfter(6, 5_000), 160_000)
  t.equal(ackWaitAfter(7, 5_000), MAX_BACKOFF_MS)
  t.equal(ackWaitAfter(100, 5_000), MAX_BACKOFF_MS)
  t.equal(ackWaitAfter(5_000, 5_000), MAX_BACKOFF_MS, 'even where 2 ** attempt overflows')
})

t.test('caps a timeout that is longer than the cap from the first push', async (t) => {
  t.equal(ackWaitAfter(1, MAX_BACKOFF_MS + 1), MAX_BACKOFF_MS)
})

t.test('treats an attempt below 1 as the first', async (t) => {
  t.equal(ackWaitAfter(0, 1_000), 1_000)
  t.equal(ackWaitAfter(-3, 1_000), 1_000)
})

t.test('gives the same wait every time, so a replay computes the same due times', async (t) => {
  t.equal(ackWaitAfter(4, 750), ackWaitAfter(4, 750))
})
