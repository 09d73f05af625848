import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import type { EventStore } from '../../src/infra/eventstore/port'
import { silentLogger, type Logger } from '../../src/infra/logging/logger'
import type { Doc, DocChange, ReadModelStore } from '../../src/infra/readmodel/port'
import { createSqliteReadModelStore } from '../../src/infra/readmodel/sqlite'
import {
  startProjection,
  type Projection,
  type ProjectionRunner,
} from '../../src/projections/projection'
import { allProjections } from '../../src/projections/readmodels'
import { conversationsProjection } from '../../src/projections/readmodels/conversations'
import {
  rebuildProjection,
  verifyProjection,
  type Difference,
  type RebuildPhase,
} from '../../src/projections/rebuild'
import { opened, sent, user } from './fixture'
import { append, dump, rebuild as buildFromScratch } from './harness'
import { randomHistory } from './random-history'

/**
 * Rebuilds and verifications against a live runner that keeps following the log, as the server
 * would: two connections to each SQLite file, one for the "server", one for the rebuild.
 */

/**
 * Counts each stream's events: unlike the real read models, applying an event twice (or a batch
 * computed against replaced documents) shows in its numbers.
 */
const tallyProjection: Projection = {
  name: 'tally',
  collections: [{ name: 'tally', indexes: [] }],
  categories: ['conversation', 'agent'],
  reads: (event) => [{ collection: 'tally', key: event.streamName }],
  apply(event, read) {
    const count = ((read('tally', event.streamName)?.count as number | undefined) ?? 0) + 1
    return [{ collection: 'tally', key: event.streamName, doc: { count } }]
  },
}
const projections = [...allProjections, tallyProjection]

interface World {
  /** The server's connections, and its runners once started. */
  events: EventStore
  readModels: ReadModelStore
  /** The rebuild's own connections to the same files. */
  rebuildEvents: EventStore
  rebuildReadModels: ReadModelStore
  start(options?: { readModels?: ReadModelStore; logger?: Logger }): Promise<ProjectionRunner[]>
}

function givenWorld(t: Test): World {
  const dir = t.testdir()
  const open = () => ({
    events: createSqliteEventStore({ path: join(dir, 'events.sqlite') }),
    readModels: createSqliteReadModelStore({ path: join(dir, 'read-models.sqlite') }),
  })
  const server = open()
  const rebuild = open()
  const runners: ProjectionRunner[] = []
  t.teardown(async () => {
    await Promise.all(runners.map((r) => r.stop()))
    for (const side of [server, rebuild]) {
      await side.events.close()
      await side.readModels.close()
    }
  })

  return {
    ...server,
    rebuildEvents: rebuild.events,
    rebuildReadModels: rebuild.readModels,
    async start({ readModels = server.readModels, logger = silentLogger } = {}) {
      const started = projections.map((projection) =>
        startProjection({ events: server.events, readModels, projection, logger }),
      )
      runners.push(...started)
      await Promise.all(started.map((r) => r.ready))
      return started
    },
  }
}

const caughtUp = async (world: World, runners: ProjectionRunner[]) => {
  const head = await world.events.headPosition()
  await Promise.all(runners.map((r) => r.waitForPosition(head)))
}

/** The server's read models, and the same built from scratch from its log. */
async function views(t: Test, world: World) {
  return {
    live: await dump(world.readModels, projections),
    scratch: await buildFromScratch(t, world.events, projections),
  }
}

const rebuildWith = (world: World, projection: Projection, batchSize = 25) =>
  rebuildProjection({
    events: world.rebuildEvents,
    readModels: world.rebuildReadModels,
    projection,
    batchSize,
  })

/** Live appends in the background: `more()` starts one burst, `settled()` awaits them all. */
function backgroundAppends(events: EventStore) {
  const pending: Promise<bigint>[] = []
  let seed = 100
  return {
    more: () => void pending.push(append(events, randomHistory(seed++, 12, 2))),
    settled: async () => Promise.all(pending),
    get count() {
      return pending.length
    },
  }
}

t.test('a rebuild beside a live runner ends equal to a build from scratch', async (t) => {
  const world = givenWorld(t)
  await append(world.events, randomHistory(1, 400))
  const runners = await world.start()
  const live = backgroundAppends(world.events)

  const results = []
  for (const projection of projections) {
    results.push(
      await rebuildProjection({
        events: world.rebuildEvents,
        readModels: world.rebuildReadModels,
        projection,
        batchSize: 25,
        // Every few batches the "clients" append more while the rebuild replays.
        onProgress: (progress) => progress.events % 100 === 0 && live.more(),
      }),
    )
  }
  await live.settled()
  await caughtUp(world, runners)

  t.ok(live.count >= projections.length, `${live.count} bursts appended during the rebuilds`)
  t.same(
    results.map((r) => r.generation),
    projections.map(() => 1),
  )
  const { live: after, scratch } = await views(t, world)
  t.same(after, scratch, 'the read models equal a build from scratch at the head')

  await append(world.events, randomHistory(7, 60), 10)
  const last = await append(world.events, [
    opened('late', 'u-late'),
    sent('late', 1, user('u-late')),
  ])
  await caughtUp(world, runners)
  const later = await views(t, world)
  t.same(later.live, later.scratch, 'later live events apply exactly once')
  t.same(await world.readModels.get('tally', 'conversation-late'), { count: 2, _pos: String(last) })
})

t.test('rebuilding one projection leaves the others untouched', async (t) => {
  const world = givenWorld(t)
  await append(world.events, randomHistory(2, 200))
  await world.start()
  const others = projections.filter((p) => p !== conversationsProjection)
  const before = await dump(world.readModels, others)
  const checkpoints = await Promise.all(others.map((p) => world.readModels.checkpointState(p.name)))

  const result = await rebuildWith(world, conversationsProjection)

  t.same(await dump(world.readModels, others), before)
  t.same(
    await Promise.all(others.map((p) => world.readModels.checkpointState(p.name))),
    checkpoints,
  )
  t.same(await world.readModels.checkpointState(conversationsProjection.name), {
    position: result.position,
    generation: 1,
  })
  t.match(result, { projection: 'conversations', generation: 1 })
  t.ok(result.events > 0 && result.docs > 0, 'counts what it replayed and wrote')
})

/** The server's store, whose commits for the tally wait at a gate once it is closed. */
function gatedCommits(inner: ReadModelStore) {
  let closed = false
  let entered = (): void => {}
  let release = (): void => {}
  const refused: string[] = []
  const store: ReadModelStore = {
    ...inner,
    async commit(name, changes, checkpoint, options) {
      if (closed && name === tallyProjection.name) {
        closed = false
        const gate = new Promise<void>((resolve) => (release = resolve))
        entered()
        await gate
      }
      return inner.commit(name, changes, checkpoint, options).catch((err: { code?: string }) => {
        refused.push(`${name}: ${err.code}`)
        throw err
      })
    },
  }
  const close = () => {
    closed = true
    return new Promise<void>((resolve) => (entered = resolve))
  }
  return { store, close, release: () => release(), refused }
}

t.test('a switch-over during a live batch in flight discards the batch', async (t) => {
  const world = givenWorld(t)
  await append(world.events, randomHistory(3, 100))
  const gated = gatedCommits(world.readModels)
  const infos: string[] = []
  const logger: Logger = { ...silentLogger, info: (_, msg) => infos.push(msg), child: () => logger }
  const runners = await world.start({ readModels: gated.store, logger })
  // The live tally has gone wrong: the rebuild is there to repair it.
  const stream = 'conversation-c3x0'
  await world.readModels.commit('corruption', [tally(stream, 1000)], 0n)

  // 1. A live batch computed against the corrupted document waits to commit.
  const inFlight = gated.close()
  await append(world.events, [sent('c3x0', 500, user('u0'))])
  await inFlight

  // 2. The rebuild switches over meanwhile; then the batch tries to commit.
  await rebuildWith(world, tallyProjection)
  gated.release()
  await append(world.events, [sent('c3x0', 501, user('u0'))])
  await caughtUp(world, runners)

  t.same(gated.refused, ['tally: read_model_generation_changed'])
  t.ok(infos.includes('read model switched over, following from its new checkpoint'))
  const { live, scratch } = await views(t, world)
  t.same(live, scratch, 'neither the stale batch nor the corruption survived')
})

const tally = (key: string, count: number): DocChange => ({
  collection: 'tally',
  key,
  doc: { count },
})

t.test('verify finds nothing on a healthy store, while live appends go on', async (t) => {
  const world = givenWorld(t)
  await append(world.events, randomHistory(4, 300))
  await world.start()
  const live = backgroundAppends(world.events)
  const phases = new Set<RebuildPhase>()

  const results = []
  for (const projection of projections) {
    const differences: Difference[] = []
    results.push(
      await verifyProjection({
        events: world.rebuildEvents,
        readModels: world.rebuildReadModels,
        projection,
        batchSize: 25,
        onProgress: (progress) => {
          phases.add(progress.phase)
          if (progress.events % 50 === 0) live.more()
        },
        onDifference: (difference) => differences.push(difference),
      }),
    )
    t.same(differences, [], `${projection.name} has no difference`)
  }
  await live.settled()

  t.same(
    results.map((r) => r.differences),
    projections.map(() => 0),
  )
  t.ok(
    results.every((r) => r.live === r.rebuilt),
    'both sides hold as many documents',
  )
  const tallied = results[results.length - 1]
  t.ok(tallied.position > 300n, 'compared past the history appended before it began')
  t.same([...phases].sort(), ['compare', 'replay'])
  t.same(await shadowTables(world.rebuildReadModels), [], 'the shadows are dropped')
})

t.test('verify compares at the live checkpoint when the live side lags the log', async (t) => {
  const world = givenWorld(t)
  await append(world.events, randomHistory(5, 150))
  const runners = await world.start()
  await Promise.all(runners.map((r) => r.stop()))
  const stoppedAt = await world.readModels.checkpoint(conversationsProjection.name)
  await append(world.events, randomHistory(6, 50))

  const result = await verifyProjection({
    events: world.rebuildEvents,
    readModels: world.rebuildReadModels,
    projection: conversationsProjection,
  })

  t.match(result, { differences: 0, position: stoppedAt })
})

t.test('verify reports a changed field, a missing document and a stray one', async (t) => {
  const world = givenWorld(t)
  await append(world.events, randomHistory(8, 200))
  const runners = await world.start()
  await Promise.all(runners.map((r) => r.stop()))
  const [first, second] = await world.readModels.entries('conversations', { limit: 2 })
  const changed = { ...first.doc, status: 'corrupted', lastSeq: 999 }
  await world.readModels.commit(
    'corruption',
    [
      { collection: 'conversations', key: first.key, doc: changed },
      { collection: 'conversations', key: second.key, doc: null },
      { collection: 'conversations', key: 'zz-stray', doc: { conversationId: 'zz-stray' } },
    ],
    0n,
  )
  const differences: Difference[] = []

  const result = await verifyProjection({
    events: world.rebuildEvents,
    readModels: world.rebuildReadModels,
    projection: conversationsProjection,
    onDifference: (difference) => differences.push(difference),
  })

  t.equal(result.differences, 3)
  t.same(differences, [
    {
      collection: 'conversations',
      key: first.key,
      kind: 'changed',
      fields: [
        { path: 'lastSeq', live: 999, rebuilt: first.doc.lastSeq },
        { path: 'status', live: 'corrupted', rebuilt: first.doc.status },
      ],
    },
    {
      collection: 'conversations',
      key: second.key,
      kind: 'missing',
      rebuilt: unstamped(second.doc),
    },
    {
      collection: 'conversations',
      key: 'zz-stray',
      kind: 'extra',
      live: { conversationId: 'zz-stray' },
    },
  ])
})

function unstamped(doc: Doc): Doc {
  const { _pos, ...rest } = doc
  return rest
}

async function shadowTables(store: ReadModelStore): Promise<string[]> {
  const names = projections.flatMap((p) => p.collections.map((c) => `${c.name}__shadow`))
  const present: string[] = []
  for (const name of names) {
    await store.entries(name, { limit: 0 }).then(
      () => present.push(name),
      () => undefined,
    )
  }
  return present
}
