import t from 'tap'
import type { ProjectionRunner } from '../../src/projections/projection'
import { allProjections } from '../../src/projections/readmodels'
import { rebuildProjection } from '../../src/projections/rebuild/rebuild'
import { verifyProjection } from '../../src/projections/rebuild/verify'
import { mongoSpace } from '../infra/readmodel/mongo-space'
import { startMongoDouble, type MongoDouble } from '../support/mongo-double'
import { Role } from '../../src/domain/shared/participant'
import type { ReadModelStore } from '../../src/infra/readmodel/port'
import * as q from '../../src/projections/queries'
import { append, dump, givenEvents, givenReadModels, rebuild, run } from './harness'
import { randomHistory } from './random-history'

/**
 * The projection runner and a rebuild over the MongoDB store (on the wire-protocol double),
 * judged against the embedded store's rebuild of the same log: one node, two nodes running the
 * same projections against one database, a rebuild switching over under a live runner and a
 * verification, and the API's queries.
 */

/** Longest a runner may take to reach the log's head here: 60 s (every batch is a transaction). */
const REACH_MS = 60_000

let double: MongoDouble | undefined
t.before(async () => {
  double = await startMongoDouble()
})
t.teardown(() => double?.close())
const url = (): string => {
  if (double === undefined) throw new Error('the MongoDB double did not start')
  return double.url
}

const reached = (runners: ProjectionRunner[], position: bigint) =>
  Promise.all(runners.map((r) => r.waitForPosition(position, REACH_MS)))

t.test('a live view on MongoDB equals a rebuild from the log', async (t) => {
  const events = givenEvents(t)
  const readModels = (await mongoSpace(t, url())).open()
  const runners = run(t, events, { readModels, maxBatch: 50 })
  await Promise.all(runners.map((r) => r.ready))

  await reached(runners, await append(events, randomHistory(1, 200), 7))

  t.same(await dump(readModels), await rebuild(t, events))
})

t.test('two nodes running the same projections on one database end as one node', async (t) => {
  const events = givenEvents(t)
  const space = await mongoSpace(t, url())
  const [first, second] = [space.open(), space.open()]
  const history = randomHistory(2, 300)
  const head = await append(events, history.slice(0, 100), 7)
  // Different batch sizes, so their batches overlap instead of coinciding.
  const nodes = [
    ...run(t, events, { readModels: first, maxBatch: 17 }),
    ...run(t, events, { readModels: second, maxBatch: 40 }),
  ]

  await reached(nodes, head)
  const last = await append(events, history.slice(100), 3)
  await reached(nodes, last)

  const expected = await rebuild(t, events)
  t.same(await dump(first), expected, 'as one node alone would have built it')
  t.same(await dump(second), expected, 'the same view through the other client')
  for (const { name } of allProjections) {
    t.equal(await first.checkpoint(name), await second.checkpoint(name), `${name} checkpoint`)
  }
})

t.test('a rebuild on another node switches over under a live runner', async (t) => {
  const events = givenEvents(t)
  const space = await mongoSpace(t, url())
  const [live, rebuilder] = [space.open(), space.open()]
  const runners = run(t, events, { readModels: live, maxBatch: 50 })
  const history = randomHistory(3, 240)
  await reached(runners, await append(events, history.slice(0, 200), 7))

  const rebuilding = Promise.all(
    allProjections.map((projection) =>
      rebuildProjection({ events, readModels: rebuilder, projection, batchSize: 60 }),
    ),
  )
  const last = await append(events, history.slice(200), 5)
  const results = await rebuilding
  await reached(runners, last)

  t.same(
    results.map((r) => r.generation),
    allProjections.map(() => 1),
  )
  t.same(await dump(live), await rebuild(t, events), 'the switched view follows the log on')

  // A verification replays into a shadow of its own and compares inside a snapshot.
  for (const projection of allProjections) {
    const verified = await verifyProjection({ events, readModels: rebuilder, projection })
    t.equal(verified.differences, 0, `${projection.name}: live equals a replay`)
  }
})

t.test("the API's queries answer the same on MongoDB as on the embedded store", async (t) => {
  const events = givenEvents(t)
  const mongo = (await mongoSpace(t, url())).open()
  const sqlite = givenReadModels(t)
  const runners = [
    ...run(t, events, { readModels: mongo, maxBatch: 50 }),
    ...run(t, events, { readModels: sqlite, maxBatch: 50 }),
  ]
  await reached(runners, await append(events, randomHistory(4, 200), 7))

  const conversations = await q.listConversations(sqlite, { limit: 100 })
  t.ok(conversations.length > 3, 'the history has conversations to ask about')
  const asked: [string, (rm: ReadModelStore) => Promise<unknown>][] = [
    ['listConversations', (rm) => q.listConversations(rm, { status: 'open', limit: 5 })],
    ['listAllPending', (rm) => q.listAllPending(rm)],
    ['pageConversations', (rm) => q.pageConversations(rm, { limit: 3 })],
    ['pagePresence', (rm) => q.pagePresence(rm, { limit: 4 })],
    ['pageAgents', (rm) => q.pageAgents(rm, { limit: 2 })],
  ]
  for (const c of conversations.slice(0, 6)) {
    const id = c.conversationId
    const after = { openedAt: c.openedAt, conversationId: id }
    asked.push(
      ['getConversation', (rm) => q.getConversation(rm, id)],
      ['listMessages', (rm) => q.listMessages(rm, id, { afterSeq: 1, limit: 3 })],
      ['listMessages window', (rm) => q.listMessages(rm, id, { sentFrom: c.openedAt })],
      ['pageConversations after', (rm) => q.pageConversations(rm, { after, limit: 2 })],
      ['listPendingFor', (rm) => q.listPendingFor(rm, { role: Role.User, id: c.userId })],
      ['pagePendingFor', (rm) => q.pagePendingFor(rm, { role: Role.User, id: c.userId })],
    )
  }

  for (const [name, ask] of asked) t.same(await ask(mongo), await ask(sqlite), name)
})
