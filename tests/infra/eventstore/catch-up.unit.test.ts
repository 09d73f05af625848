import t from 'tap'
import { catchUpThenLive } from '../../../src/infra/eventstore/catch-up'
import { createLiveFeed } from '../../../src/infra/eventstore/live-feed'
import type { RecordedEvent } from '../../../src/infra/eventstore/port'
import { record } from './await'
import { consecutive } from './fixture'

/** A log whose reads a test can interleave with commits at exact points of the hand-over. */
function givenLog(stored: number, pageSize = 2) {
  const log: RecordedEvent[] = []
  const feed = createLiveFeed()
  const commit = (): void => {
    const position = BigInt(log.length + 1)
    const event = {
      id: `e${position}`,
      streamName: 'conversation-1',
      revision: position - 1n,
      position,
      type: 'MessageSent',
      data: {},
      metadata: {},
      recordedAt: 0,
    }
    log.push(event)
    feed.publish([event])
  }
  for (let i = 0; i < stored; i++) commit()

  let reads = 0
  let beforeRead = (_read: number): void => {}
  let afterRead = (_read: number): void => {}
  const source = {
    pageSize,
    feed,
    isClosed: () => false,
    async readPage(after: bigint) {
      reads += 1
      beforeRead(reads)
      const page = log.slice(Number(after), Number(after) + pageSize)
      afterRead(reads)
      return page
    },
  }
  const on = (hooks: { before?: typeof beforeRead; after?: typeof afterRead }): void => {
    beforeRead = hooks.before ?? beforeRead
    afterRead = hooks.after ?? afterRead
  }
  return { source, commit, on }
}

t.test('delivers once an event that is both read and buffered at the hand-over', async (t) => {
  // Given 5 stored events read two a page: reads 1 to 3 catch up, read 4 follows the listen
  const { source, commit, on } = givenLog(5)
  on({
    before: (read) => read === 4 && commit(),
    after: (read) => read === 4 && commit(),
  })

  // When subscribing, then committing once more live
  const subscriber = record(catchUpThenLive(source))
  await subscriber.received(7)
  commit()

  // Then event 6 (read and buffered) and event 7 (buffered only) arrive once, in order
  t.same(
    (await subscriber.received(8)).map((e) => e.position),
    consecutive(8),
  )
})

t.test('misses no event committed between the catch-up and the listen', async (t) => {
  // Given a commit right after the last catch-up read, before the subscription listens
  const { source, commit, on } = givenLog(3)
  on({ after: (read) => read === 2 && commit() })

  // When
  const subscriber = record(catchUpThenLive(source))

  // Then
  t.same(
    (await subscriber.received(4)).map((e) => e.position),
    consecutive(4),
  )
})

t.test('completes at once when the feed has already closed', async (t) => {
  const { source } = givenLog(1)
  source.feed.close()

  const subscriber = record(catchUpThenLive(source))

  await subscriber.completed()
  t.equal(subscriber.values.length, 1)
})
