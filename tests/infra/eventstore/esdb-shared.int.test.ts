import t from 'tap'
import { ConcurrencyError } from '../../../src/domain/shared/errors'
import { createEsdbEventStore } from '../../../src/infra/eventstore/esdb/esdb-event-store'
import type { EventStore } from '../../../src/infra/eventstore/port'
import { spawnEsdbDouble } from '../../support/esdb-double/spawn'
import { record } from './await'
import { events, newStream, positions, storedPositions } from './fixture'

t.test('lets two writers share one double running as its own process', async (t) => {
  // Given the double in a child process and two stores on it, as two gateway nodes
  const double = await spawnEsdbDouble()
  t.teardown(() => double.stop())
  const nodes: EventStore[] = [1, 2].map(() =>
    createEsdbEventStore({ connectionString: double.url }),
  )
  t.teardown(() => Promise.all(nodes.map((node) => node.close())))
  const [a, b] = nodes
  const stream = newStream()

  // When each follows the log and both write, once racing on the same revision
  const seenByA = record(a.subscribeToAll())
  const seenByB = record(b.subscribeToAll())
  await a.appendToStream(stream, events(1), { expectedRevision: 'no_stream' })
  const race = await Promise.allSettled([
    a.appendToStream(stream, events(1, 1), { expectedRevision: 0n }),
    b.appendToStream(stream, events(1, 2), { expectedRevision: 0n }),
  ])
  const other = newStream()
  await b.appendToStream(other, events(2))

  // Then one writer lost the race, and both see every event of the other, in one order
  t.equal(race.filter((r) => r.status === 'rejected').length, 1)
  t.type(race.find((r) => r.status === 'rejected')?.reason, ConcurrencyError)
  const truth = await storedPositions(b, [stream, other])
  t.equal(truth.length, 4)
  t.same(positions(await seenByA.received(4)), truth)
  t.same(positions(await seenByB.received(4)), truth)
})
