import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { presenceDecider } from '../../src/domain/presence/presence'
import { fold } from '../../src/domain/shared/decider'
import type { Participant } from '../../src/domain/shared/participant'
import { presenceStream } from '../../src/domain/shared/streams'
import { PresenceCommands } from '../../src/infra/commands/presence-commands'
import type { EventStore, RecordedEvent } from '../../src/infra/eventstore/port'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { createSqliteReadModelStore } from '../../src/infra/readmodel/sqlite'
import { presenceAvailability } from '../../src/projections/presence/agent-availability'
import { applyToMemory, type Projection } from '../../src/projections/projection'
import { PRESENCE, presenceProjection } from '../../src/projections/readmodels/presence'

// The presence stream on the embedded SQLite store (heartbeat pruning), the presence read model
// and the agent availability built on it.

const thresholds = { offlineAfterMs: 30_000, leaveAfterMs: 120_000 }
const u1: Participant = { role: 'user', id: 'u1' }
const u2: Participant = { role: 'user', id: 'u2' }

function givenSqliteStore(t: Test): EventStore {
  const dir = mkdtempSync(join(tmpdir(), 'parley-presence-'))
  const events = createSqliteEventStore({ path: join(dir, 'events.sqlite') })
  t.teardown(async () => {
    await events.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return events
}

/** Commands on a manual clock, so each event's `at` is known. */
function givenPresence(events: EventStore, start = 1_000_000) {
  let now = start
  const presence = new PresenceCommands(events, { now: () => now }, thresholds, 0)
  return { presence, at: (time: number) => (now = time) }
}

const heartbeats = (events: RecordedEvent[], connectionId?: string) =>
  events.filter(
    (e) =>
      e.type === 'HeartbeatRecorded' &&
      (connectionId === undefined ||
        (e.data as { connectionId: string }).connectionId === connectionId),
  )

/** The presence read model built in memory from a log, as the runner would build it. */
async function presenceDocs(events: EventStore): Promise<Map<string, unknown>> {
  const docs = new Map<string, Record<string, unknown>>()
  for await (const event of events.readAll({ categories: presenceProjection.categories })) {
    applyToMemory(presenceProjection as Projection, docs, event)
  }
  return docs
}

const PRUNE = { category: 'presence', type: 'HeartbeatRecorded', keepLatestBy: 'connectionId' }

t.test('prune on the SQLite store', async (t) => {
  t.test(
    'deletes superseded heartbeats, keeping the newest per connection and every transition',
    async (t) => {
      const events = givenSqliteStore(t)
      const { presence, at } = givenPresence(events)
      at(1_000_000)
      await presence.connect(u1, 'a')
      for (const time of [1_010_000, 1_020_000, 1_030_000]) {
        at(time)
        await presence.beat(u1, 'a')
      }
      at(1_031_000)
      await presence.connect(u1, 'b')
      for (const time of [1_035_000, 1_040_000]) {
        at(time)
        await presence.beat(u1, 'b')
      }
      at(1_041_000)
      await presence.disconnect(u1, 'b', 'closed')
      at(1_042_000)
      await presence.connect(u2, 'c')
      at(1_043_000)
      await presence.beat(u2, 'c')
      // Not a presence stream: the same type elsewhere is not the prune's business.
      await events.appendToStream('conversation-x', [
        { type: 'HeartbeatRecorded', data: { connectionId: 'z', at: 1 } },
        { type: 'HeartbeatRecorded', data: { connectionId: 'z', at: 2 } },
      ])
      const before1 = await events.readStream(presenceStream(u1))
      const before2 = await events.readStream(presenceStream(u2))
      const docsBefore = await presenceDocs(events)

      const deleted = await events.prune!({ ...PRUNE, recordedBefore: Date.now() + 1_000 })

      t.equal(deleted, 3, "two of a's three beats and one of b's two")
      const after1 = await events.readStream(presenceStream(u1))
      t.same(
        heartbeats(after1).map((e) => e.data),
        [
          { who: u1, connectionId: 'a', at: 1_030_000 },
          { who: u1, connectionId: 'b', at: 1_040_000 },
        ],
        'the newest beat of each connection stays',
      )
      t.same(
        after1.filter((e) => e.type !== 'HeartbeatRecorded'),
        before1.filter((e) => e.type !== 'HeartbeatRecorded'),
        'every other event of the stream stays, untouched',
      )
      t.same(
        await events.readStream(presenceStream(u2)),
        before2,
        'a lone beat is the newest: kept',
      )
      t.equal((await events.readStream('conversation-x')).length, 2, 'other categories untouched')

      const fromScratch = (recorded: RecordedEvent[]) =>
        fold(
          presenceDecider,
          recorded.map((e) => ({ type: e.type, data: e.data }) as never),
        )
      t.same(fromScratch(after1), fromScratch(before1), 'the folded presence is the same')
      t.same(await presenceDocs(events), docsBefore, 'a rebuilt presence read model is the same')
    },
  )

  t.test('keeps heartbeats recorded at or after the cut-off', async (t) => {
    const events = givenSqliteStore(t)
    const { presence, at } = givenPresence(events)
    await presence.connect(u1, 'a')
    for (const time of [1_001_000, 1_002_000, 1_003_000]) {
      at(time)
      await presence.beat(u1, 'a')
    }
    const recordedAt = heartbeats(await events.readStream(presenceStream(u1))).map(
      (e) => e.recordedAt,
    )

    t.equal(await events.prune!({ ...PRUNE, recordedBefore: Math.min(...recordedAt) }), 0)
    t.equal(heartbeats(await events.readStream(presenceStream(u1))).length, 3)
  })

  t.test('leaves the stream writable: a fresh handler appends at the right revision', async (t) => {
    const events = givenSqliteStore(t)
    const { presence, at } = givenPresence(events)
    await presence.connect(u1, 'a')
    for (const time of [1_001_000, 1_002_000, 1_003_000]) {
      at(time)
      await presence.beat(u1, 'a')
    }
    const lastRevision = (await events.readStream(presenceStream(u1))).at(-1)?.revision
    await events.prune!({ ...PRUNE, recordedBefore: Date.now() + 1_000 })

    // A new process, with nothing cached, folds the pruned stream and writes after it.
    const fresh = givenPresence(events, 1_004_000)
    const result = await fresh.presence.beat(u1, 'a')
    t.same(
      result.events.map((e) => e.type),
      ['HeartbeatRecorded'],
      'the connection is still known',
    )
    const tail = (await events.readStream(presenceStream(u1))).at(-1)
    t.equal(tail?.revision, (lastRevision ?? 0n) + 1n, 'the next revision, no gap and no clash')
    t.equal(result.state.lastHeartbeatAt, 1_004_000)
  })
})

t.test('the presence read model', async (t) => {
  t.test('follows a person through connections, beats, offline, leaving and return', async (t) => {
    const events = givenSqliteStore(t)
    const { presence, at } = givenPresence(events)
    const key = 'user:u1'

    at(1_000)
    await presence.connect(u1, 'a')
    at(2_000)
    await presence.connect(u1, 'b')
    at(5_000)
    await presence.beat(u1, 'a')
    t.same(strip((await presenceDocs(events)).get(`${PRESENCE}/${key}`)), {
      role: 'user',
      id: 'u1',
      status: 'online',
      lastHeartbeatAt: 5_000,
      connections: 2,
      since: 1_000,
    })

    at(6_000)
    await presence.disconnect(u1, 'b', 'closed')
    at(40_000)
    await presence.sweep(u1)
    t.match((await presenceDocs(events)).get(`${PRESENCE}/${key}`), {
      status: 'offline',
      connections: 0,
      lastHeartbeatAt: 5_000,
      since: 40_000,
    })

    at(125_000)
    await presence.sweep(u1)
    t.match((await presenceDocs(events)).get(`${PRESENCE}/${key}`), {
      status: 'left',
      since: 125_000,
    })

    at(200_000)
    await presence.connect(u1, 'c')
    t.match((await presenceDocs(events)).get(`${PRESENCE}/${key}`), {
      status: 'online',
      connections: 1,
      lastHeartbeatAt: 200_000,
      since: 200_000,
    })
  })

  t.test('counts only online agents as available', async (t) => {
    const events = givenSqliteStore(t)
    const { presence, at } = givenPresence(events)
    at(1_000)
    await presence.connect({ role: 'agent', id: 'on' }, 'a')
    await presence.connect({ role: 'agent', id: 'gone' }, 'b')
    await presence.connect({ role: 'user', id: 'on' }, 'c')
    at(2_000)
    await presence.disconnect({ role: 'agent', id: 'gone' }, 'b', 'closed')

    const readModels = createSqliteReadModelStore({ path: ':memory:' })
    t.teardown(() => readModels.close())
    await readModels.ensureCollections(presenceProjection.collections)
    const docs = await presenceDocs(events)
    await readModels.commit(
      'test',
      [...docs].map(([id, doc]) => ({
        collection: PRESENCE,
        key: id.slice(PRESENCE.length + 1),
        doc: doc as Record<string, unknown>,
      })),
      1n,
    )

    t.same(
      await presenceAvailability(readModels).onlineAgents(),
      ['on'],
      'not the offline agent, not the user',
    )
  })
})

/** A document without the runner's position stamp. */
function strip(doc: unknown): unknown {
  if (doc === undefined) return doc
  const { _pos: _stamp, ...rest } = doc as Record<string, unknown>
  return rest
}
