import t from 'tap'
import {
  agent,
  givenAssignedConversation,
  givenDeliveryWorld,
  sendText,
  startDeliveryNode,
  tallyDuePushes,
  user,
} from './support/delivery'
import { abandonsOf, pushesOf } from './support/log'

// Two nodes share one log; each has its own command handlers, manager and connections, and both
// hold a connection of the same user (two tabs, two nodes). The conversation aggregate decides
// each push against its stream's revision, so a due re-push can be recorded by one node only.
// TEST_POLICY: ackTimeoutMs 1000, maxAttempts 5.

const SENT_AT = 10_000
const PUSH_TIMES = [0, 1_000, 3_000, 7_000, 15_000].map((dt) => SENT_AT + dt)

t.test('two nodes holding the recipient record each due re-push once', async (t) => {
  // Given two nodes, each with a connection of the user
  const world = await givenDeliveryWorld(t)
  const east = await startDeliveryNode(t, world)
  const west = await startDeliveryNode(t, world)
  const conversationId = await givenAssignedConversation(east.commands, 'u1', 'a1')
  const eastTab = east.channels.open(user('u1'), 'east tab')
  const westTab = west.channels.open(user('u1'), 'west tab')
  const eastTally = tallyDuePushes(east)
  const westTally = tallyDuePushes(west)
  await world.clock.advanceTo(SENT_AT)

  // When a message stays unacknowledged long after every wait
  const sent = await sendText(west.commands, agent('a1'), conversationId, 'hello, both tabs')
  await world.clock.advanceTo(SENT_AT + 100_000)

  // Then each push is recorded once, attempts 1 to 5 on the usual schedule, never counted twice
  t.same(
    (await pushesOf(world.events, sent.messageId)).map((p) => [p.attempt, p.pushedAt]),
    PUSH_TIMES.map((at, i) => [i + 1, at]),
  )
  t.same(
    (await abandonsOf(world.events, sent.messageId)).map((a) => [a.attempts, a.at]),
    [[5, SENT_AT + 31_000]],
    'given up once',
  )
  t.same(
    { tried: eastTally.tried + westTally.tried, recorded: eastTally.recorded + westTally.recorded },
    { tried: 8, recorded: 4 },
    'both nodes tried each of the four re-pushes; the aggregate accepted one of each pair',
  )

  // And both tabs had the first push, while each re-push went out from the node that recorded it
  const east$ = eastTab.pushTimesOf(sent.messageId)
  const west$ = westTab.pushTimesOf(sent.messageId)
  t.ok(east$.includes(SENT_AT) && west$.includes(SENT_AT), 'the first push reached both tabs')
  for (const at of PUSH_TIMES.slice(1)) {
    const sentThere = east$.filter((x) => x === at).length + west$.filter((x) => x === at).length
    t.equal(sentThere, 1, `the re-push due at ${at} went out once in all`)
  }
  t.equal(east$.length + west$.length, 2 + 4, 'no push beyond the five recorded')
})

t.test('a node that starts while another is mid-backoff does not double a re-push', async (t) => {
  // Given one node mid-backoff with the user connected there
  const world = await givenDeliveryWorld(t)
  const east = await startDeliveryNode(t, world)
  const conversationId = await givenAssignedConversation(east.commands, 'u1', 'a1')
  const eastTab = east.channels.open(user('u1'), 'east tab')
  await world.clock.advanceTo(SENT_AT)
  const sent = await sendText(east.commands, agent('a1'), conversationId, 'anyone?')
  await world.clock.advanceTo(SENT_AT + 2_000)

  // When a second node starts and the user opens a tab there too
  const west = await startDeliveryNode(t, world)
  const westTab = west.channels.open(user('u1'), 'west tab')
  await world.clock.advanceTo(SENT_AT + 100_000)

  // Then the schedule is the same as with one node, and every due push went out once
  t.same(
    (await pushesOf(world.events, sent.messageId)).map((p) => [p.attempt, p.pushedAt]),
    PUSH_TIMES.map((at, i) => [i + 1, at]),
  )
  t.equal((await abandonsOf(world.events, sent.messageId)).length, 1, 'given up once')
  const all = [...eastTab.pushTimesOf(sent.messageId), ...westTab.pushTimesOf(sent.messageId)]
  t.same(
    all.sort((a, b) => a - b),
    PUSH_TIMES,
    'five pushes in all, one per recorded attempt',
  )
})
