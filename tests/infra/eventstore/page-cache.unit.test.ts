import t from 'tap'
import { createPageCache } from '../../../src/infra/eventstore/page-cache'
import type { RecordedEvent } from '../../../src/infra/eventstore/port'

/** A page of `size` events after `after`, and a loader that counts its calls. */
function givenLoader(size: number) {
  const calls: bigint[] = []
  const load = (after: bigint) => () => {
    calls.push(after)
    return Array.from(
      { length: size },
      (_, i) => ({ position: after + BigInt(i + 1) }) as RecordedEvent,
    )
  }
  return { calls, load }
}

t.test('serves a full page once read to the next reader of the same categories', async (t) => {
  const cache = createPageCache(3)
  const { calls, load } = givenLoader(3)

  const first = cache.read(['conversation'], 0n, load(0n))
  const second = cache.read(['conversation'], 0n, load(0n))

  t.equal(second, first, 'the same events, not a copy')
  t.same(calls, [0n])
})

t.test('reads again for other categories, another position or a page short of full', async (t) => {
  const cache = createPageCache(3)
  const full = givenLoader(3)
  cache.read(['conversation'], 0n, full.load(0n))
  cache.read(['presence'], 0n, full.load(0n))
  cache.read(['conversation'], 3n, full.load(3n))
  t.same(full.calls, [0n, 0n, 3n])

  const short = givenLoader(2)
  cache.read(undefined, 6n, short.load(6n))
  cache.read(undefined, 6n, short.load(6n))
  t.same(short.calls, [6n, 6n], 'a page ending at the head is never kept')
})

t.test('keeps only the newest pages of each filter', async (t) => {
  const cache = createPageCache(1, 2)
  const { calls, load } = givenLoader(1)
  for (const after of [0n, 1n, 2n]) cache.read(['agent'], after, load(after))

  cache.read(['agent'], 2n, load(2n))
  cache.read(['agent'], 0n, load(0n))

  t.same(calls, [0n, 1n, 2n, 0n], 'page 0 was evicted, page 2 was kept')
})
