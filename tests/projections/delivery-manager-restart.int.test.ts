import t, { type Test } from 'tap'
import {
  PENDING_ACKS,
  pendingAcksProjection,
  pendingKey,
} from '../../src/projections/readmodels/pending-acks'
import { FakeChannels } from './support/channels'
import {
  agent,
  givenAssignedConversation,
  givenDeliveryWorld,
  sendText,
  startDeliveryNode,
  startPendingAcksRunner,
  user,
  type DeliveryWorld,
} from './support/delivery'
import { abandonsOf, pushesOf } from './support/log'

// A restart of the delivery manager in the middle of a backoff: the new manager rebuilds its
// timers from the pending-acknowledgement view and its checkpoint, then the log after it. The
// user's connection stays in the node's directory across the restart and `connected` is not
// called, so only rebuilt timers can push. TEST_POLICY: ackTimeoutMs 1000, maxAttempts 5.

const SENT_AT = 10_000
/** Pushes 1 and 2 went out at 10 s and 11 s; the third is due at 13 s. */
const THIRD_DUE = 13_000
const RESTART_AT = 12_000

interface Backoff {
  world: DeliveryWorld
  channels: FakeChannels
  messageId: string
  conversationId: string
}

/** A message to a silent user, pushed at 10 s and 11 s by a first manager that is then stopped. */
async function givenStoppedMidBackoff(
  t: Test,
  view: 'caught up' | 'stopped after the first push' | 'never built',
  pageSize?: number,
): Promise<Backoff> {
  const world = await givenDeliveryWorld(t, { pageSize })
  const channels = new FakeChannels(world.clock.now)
  channels.open(user('u1'), 'phone')
  const runner = view === 'never built' ? undefined : startPendingAcksRunner(t, world)
  const first = await startDeliveryNode(t, world, channels)
  const conversationId = await givenAssignedConversation(first.commands, 'u1', 'a1')

  await world.clock.advanceTo(SENT_AT)
  const sent = await sendText(first.commands, agent('a1'), conversationId, 'still there?')
  await world.clock.settle()
  if (view === 'stopped after the first push') {
    await runner?.waitForPosition(await world.events.headPosition())
    await runner?.stop()
  }
  await world.clock.advanceTo(SENT_AT + 1_500)
  if (view === 'caught up') await runner?.waitForPosition(await world.events.headPosition())

  await first.stop()
  await runner?.stop()
  await world.clock.advanceTo(RESTART_AT)
  t.same(
    (await pushesOf(world.events, sent.messageId)).map((p) => [p.attempt, p.nextDueAt]),
    [
      [1, SENT_AT + 1_000],
      [2, THIRD_DUE],
    ],
    'given: two pushes recorded, the third due at 13 s',
  )
  return { world, channels, messageId: sent.messageId, conversationId }
}

/** The restarted node must push at 13 s (not before), then 17 s and 25 s, give up at 41 s. */
async function thenTheScheduleGoesOn(t: Test, given: Backoff): Promise<void> {
  const { world, channels, messageId } = given
  const phone = channels.channelsOf(user('u1'))[0]
  const before = [SENT_AT, SENT_AT + 1_000]

  await world.clock.advanceTo(THIRD_DUE - 1)
  t.same(phone.pushTimesOf(messageId), before, 'nothing is pushed at start or before 13 s')

  await world.clock.advanceTo(THIRD_DUE)
  t.same(phone.pushTimesOf(messageId), [...before, THIRD_DUE], 'the third push comes at 13 s')

  await world.clock.advanceTo(SENT_AT + 100_000)
  const times = [...before, THIRD_DUE, 17_000, 25_000]
  t.same(phone.pushTimesOf(messageId), times, 'the backoff goes on as scheduled, no push twice')
  t.same(
    (await pushesOf(world.events, messageId)).map((p) => [p.attempt, p.pushedAt]),
    times.map((at, i) => [i + 1, at]),
    'each push recorded once',
  )
  t.same(
    (await abandonsOf(world.events, messageId)).map((a) => [a.attempts, a.at]),
    [[5, 41_000]],
    'given up once, on time',
  )
}

t.test('after a restart on a caught-up view, re-pushes at the originally due time', async (t) => {
  // Given a manager stopped mid-backoff, its view and checkpoint up to date
  const given = await givenStoppedMidBackoff(t, 'caught up')
  const { world, messageId } = given
  const stored = await world.readModels.get(PENDING_ACKS, pendingKey(messageId, user('u1')))
  t.match(stored, { pushes: 2, nextDueAt: THIRD_DUE }, 'the view holds the due time')
  t.equal(
    await world.readModels.checkpoint(pendingAcksProjection.name),
    await world.events.headPosition(),
    'the checkpoint is at the head',
  )

  // When the view's runner and a new manager start, as a restarted server does
  const runner = startPendingAcksRunner(t, world)
  await runner.ready
  await startDeliveryNode(t, world, given.channels)

  // Then the timers are rebuilt from the view
  await thenTheScheduleGoesOn(t, given)
})

t.test(
  'after a restart on a view that lags behind the last push, re-pushes at the due time',
  async (t) => {
    // Given a manager stopped mid-backoff, its view stopped before the second push
    const given = await givenStoppedMidBackoff(t, 'stopped after the first push')
    const { world, messageId } = given
    const stored = await world.readModels.get(PENDING_ACKS, pendingKey(messageId, user('u1')))
    t.match(stored, { pushes: 1, nextDueAt: SENT_AT + 1_000 }, 'the view says due at 11 s')

    // When a new manager starts on the lagging view
    await startDeliveryNode(t, world, given.channels)

    // Then the log after the checkpoint corrects the stale due time before any timer fires
    await thenTheScheduleGoesOn(t, given)
  },
)

// A replayed MessageSent from before the restart finds its row at pushes 0; the manager must not
// push it again unrecorded, but wait for the due time the rest of the replay restores.

t.test(
  'after a restart on a view never built, replays the log and re-pushes at the due time',
  async (t) => {
    // Given a manager stopped mid-backoff, and no view at all
    const given = await givenStoppedMidBackoff(t, 'never built')
    const { world } = given
    t.equal(await world.readModels.checkpoint(pendingAcksProjection.name), undefined)

    // When a new manager starts
    await startDeliveryNode(t, world, given.channels)

    // Then its replay of the whole log neither pushes again what was pushed nor loses a timer
    await thenTheScheduleGoesOn(t, given)
  },
)

t.test(
  'after a restart on a view never built, a replay in small pages re-pushes at the due time',
  async (t) => {
    // Given a manager stopped mid-backoff, no view, and a log read back two events a page
    const given = await givenStoppedMidBackoff(t, 'never built', 2)

    // When a new manager starts, its catch-up yielding to the event loop between pages
    await startDeliveryNode(t, given.world, given.channels)

    // Then, as with one page, nothing is pushed before the due time, nor twice
    await thenTheScheduleGoesOn(t, given)
  },
)

t.test(
  'a restart whose view lags behind an acknowledged message does not push it again',
  async (t) => {
    // Given a view built up to the conversation's assignment, then stopped
    const world = await givenDeliveryWorld(t)
    const channels = new FakeChannels(world.clock.now)
    const runner = startPendingAcksRunner(t, world)
    const first = await startDeliveryNode(t, world, channels)
    const conversationId = await givenAssignedConversation(first.commands, 'u1', 'a1')
    await runner.waitForPosition(await world.events.headPosition())
    await runner.stop()

    // And a message pushed to the user's connection and acknowledged, by a manager then stopped
    const phone = channels.open(user('u1'), 'phone')
    await world.clock.advanceTo(SENT_AT)
    const sent = await sendText(first.commands, agent('a1'), conversationId, 'read me once')
    await world.clock.advanceTo(SENT_AT + 500)
    await first.commands.acknowledge(user('u1'), conversationId, [sent.messageId])
    await first.stop()
    t.same(phone.pushTimesOf(sent.messageId), [SENT_AT], 'given: pushed once, then acknowledged')

    // When a new manager starts on the lagging view
    await world.clock.advanceTo(RESTART_AT)
    await startDeliveryNode(t, world, channels)
    await world.clock.advanceTo(RESTART_AT + 100_000)

    // Then the acknowledged message is not pushed again
    t.same(phone.pushTimesOf(sent.messageId), [SENT_AT], 'no push after the acknowledgement')
    t.same(phone.pushes().length, 1, 'nothing else either')
  },
)
