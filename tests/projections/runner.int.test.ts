import t from 'tap'
import { canonicalJson } from '../../src/domain/conversation/state'
import type { ReadModelStore } from '../../src/infra/readmodel/port'
import { POSITION_FIELD } from '../../src/projections/projection'
import * as q from '../../src/projections/queries'
import { allProjections } from '../../src/projections/readmodels'
import { conversationsProjection } from '../../src/projections/readmodels/conversations'
import { pendingAcksProjection } from '../../src/projections/readmodels/pending-acks'
import {
  acked,
  agent,
  assigned,
  opened,
  project,
  pushed,
  seatsSet,
  seatTaken,
  sent,
  user,
} from './fixture'
import {
  append,
  crashingStore,
  dump,
  errorLogger,
  givenEvents,
  givenReadModels,
  reached,
  rebuild,
  run,
} from './harness'
import { randomHistory } from './random-history'

t.test('applies live events as they are appended', async (t) => {
  const events = givenEvents(t)
  const readModels = givenReadModels(t)
  const runners = run(t, events, { readModels })
  await Promise.all(runners.map((r) => r.ready))

  const last = await append(events, [
    seatsSet('a1', 2),
    opened('c1', 'u1', 10),
    sent('c1', 1, user('u1')),
    seatTaken('a1', 'c1'),
    assigned('c1', 2, 'a1'),
    sent('c1', 3, agent('a1')),
    pushed('c1', 3, user('u1'), 1, 2_000),
    acked('c1', 2, user('u1')),
  ])
  await reached(runners, last)

  t.match(await q.getConversation(readModels, 'c1'), { status: 'open', agentId: 'a1', lastSeq: 3 })
  const seqs = (docs: { seq: number }[]) => docs.map((doc) => doc.seq)
  t.same(seqs(await q.listMessages(readModels, 'c1', { afterSeq: 1 })), [2, 3])
  t.same(await q.getAgent(readModels, 'a1'), {
    agentId: 'a1',
    seats: 2,
    conversations: ['c1'],
    openConversations: 1,
  })
  const forUser = await q.listPendingFor(readModels, user('u1'))
  t.same(
    forUser.map((p) => [p.seq, p.pushes]),
    [[3, 1]],
  )
  t.same(seqs(await q.listPendingFor(readModels, agent('a1'))), [1, 2])
  t.equal((await q.listAllPending(readModels)).length, 3)
  t.same((await q.listConversations(readModels, { agentId: 'a1', status: 'open' })).length, 1)
  t.notOk(POSITION_FIELD in ((await q.getConversation(readModels, 'c1')) ?? {}), 'no stamp leaks')
})

t.test('catches up with the log before ready, in batches of at most maxBatch', async (t) => {
  const events = givenEvents(t)
  const inner = givenReadModels(t)
  const checkpoints: bigint[] = []
  const readModels: ReadModelStore = {
    ...inner,
    commit: (name, changes, checkpoint) => (
      checkpoints.push(checkpoint),
      inner.commit(name, changes, checkpoint)
    ),
  }
  const history = [
    opened('c1', 'u1'),
    ...Array.from({ length: 119 }, (_, i) => sent('c1', i + 1, user('u1'))),
  ]
  await append(events, history)

  const [runner] = run(t, events, {
    readModels,
    projections: [conversationsProjection],
    maxBatch: 25,
  })
  await runner.ready

  t.match(await q.getConversation(inner, 'c1'), { lastSeq: 119 })
  t.equal(runner.position(), 120n)
  t.same(checkpoints, [25n, 50n, 75n, 100n, 120n])
})

t.test('reaches a position of a category it does not read', async (t) => {
  const events = givenEvents(t)
  await append(events, [opened('c1', 'u1'), seatsSet('a1', 3)])

  const [runner] = run(t, events, { projections: [conversationsProjection] })
  await runner.ready
  const agentOnly = await append(events, [seatsSet('a1', 4)])
  await runner.waitForPosition(agentOnly)

  t.equal(runner.position(), 1n, 'the checkpoint is the last event it read')
  await t.rejects(runner.waitForPosition(agentOnly + 5n, 30), { code: 'projection_timeout' })
})

t.test('retries a failed commit with backoff and logs it, applying each event once', async (t) => {
  const events = givenEvents(t)
  const inner = givenReadModels(t)
  const { logger, errors } = errorLogger()
  let failures = 2
  const readModels: ReadModelStore = {
    ...inner,
    async commit(name, changes, checkpoint) {
      if (failures-- > 0) throw new Error('database is locked')
      return inner.commit(name, changes, checkpoint)
    },
  }
  const runners = run(t, events, { readModels, logger })

  const last = await append(events, randomHistory(7, 120), 10)
  await reached(runners, last)

  t.same(errors, ['projection batch failed', 'projection batch failed'])
  t.same(await dump(inner), await rebuild(t, events))
})

for (const [label, keep] of [
  ['all of the batch', (n: number) => n],
  ['half of the batch', (n: number) => Math.floor(n / 2)],
] as const) {
  t.test(
    `a restart after a crash that wrote ${label} skips nothing and repeats nothing`,
    async (t) => {
      const events = givenEvents(t)
      // A conversation nobody takes: its list of waiting messages shows any event applied twice.
      const waiting = (i: number) => (i % 7 === 0 ? [sent('w', i / 7 + 1, user('uw'))] : [])
      const history = [
        opened('w', 'uw'),
        ...randomHistory(11, 300).flatMap((event, i) => [event, ...waiting(i)]),
      ]
      const last = await append(events, history)
      const durable = givenReadModels(t)

      const crashing = crashingStore(durable, 3, keep)
      const crashed = run(t, events, { readModels: crashing.store, maxBatch: 20 })
      await crashing.crashed
      await Promise.all(crashed.map((r) => r.stop()))
      t.ok(
        crashed.some((r) => r.position() < last),
        'the crash left work to replay',
      )

      const restarted = run(t, events, { readModels: durable, maxBatch: 20 })
      await Promise.all(restarted.map((r) => r.ready))

      t.same(await dump(durable), await rebuild(t, events))
    },
  )
}

t.test('a replay does not append to a list twice after a crash wrote the documents', async (t) => {
  const events = givenEvents(t)
  await append(events, [opened('c1', 'u1'), sent('c1', 1, user('u1'))])
  const durable = givenReadModels(t)
  const [first] = run(t, events, { readModels: durable, projections: [pendingAcksProjection] })
  await first.ready
  await first.stop()
  await append(events, [sent('c1', 2, user('u1'))])

  // The batch holding seq 2 is written without its checkpoint, then replayed.
  const crashing = crashingStore(durable, 1, (n) => n)
  const [second] = run(t, events, {
    readModels: crashing.store,
    projections: [pendingAcksProjection],
  })
  await crashing.crashed
  await second.stop()
  t.equal(await durable.checkpoint(pendingAcksProjection.name), 2n, 'the checkpoint stayed behind')
  const [third] = run(t, events, { readModels: durable, projections: [pendingAcksProjection] })
  await third.ready

  const waiting = (await durable.get('pending_conversations', 'c1')) ?? {}
  t.same(waiting.awaitingAgent, [
    { messageId: 'c1-m1', seq: 1 },
    { messageId: 'c1-m2', seq: 2 },
  ])
  t.equal(waiting[POSITION_FIELD], '3')
  t.equal(third.position(), 3n)
})

t.test('a live view equals a rebuild from the log, and the in-memory mirror', async (t) => {
  for (const seed of [1, 2, 3]) {
    const events = givenEvents(t)
    const readModels = givenReadModels(t)
    const runners = run(t, events, { readModels, maxBatch: 50 })
    await Promise.all(runners.map((r) => r.ready))
    const history = randomHistory(seed, 400)

    await reached(runners, await append(events, history, 7))

    const live = await dump(readModels)
    t.same(live, await rebuild(t, events), `seed ${seed}: rebuild`)
    const mirrored = allProjections.flatMap((p) =>
      [...project(p, history)].map(([id, doc]) => `${id.split('/')[0]} ${canonicalJson(doc)}`),
    )
    const unstamped = live.map((line) => line.replace(/"_pos":"\d+",?/, '')).sort()
    t.same(unstamped, mirrored.sort(), `seed ${seed}: mirror`)
  }
})

t.test('stop waits for the batch in flight, then later waits reject', async (t) => {
  const events = givenEvents(t)
  const inner = givenReadModels(t)
  let entered = (): void => {}
  const committing = new Promise<void>((resolve) => (entered = resolve))
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  const readModels: ReadModelStore = {
    ...inner,
    async commit(name, changes, checkpoint) {
      entered()
      await gate
      return inner.commit(name, changes, checkpoint)
    },
  }
  const [runner] = run(t, events, { readModels, projections: [conversationsProjection] })
  const position = await append(events, [opened('c1', 'u1')])
  const pending = runner.waitForPosition(position)
  await committing

  const stopping = runner.stop()
  release()
  await stopping

  await t.resolves(pending)
  t.match(await q.getConversation(inner, 'c1'), { userId: 'u1' })
  await t.rejects(runner.waitForPosition(position + 1n), { code: 'projection_stopped' })
})
