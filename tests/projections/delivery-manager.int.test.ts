import t from 'tap'
import {
  agent,
  givenAssignedConversation,
  givenDeliveryWorld,
  sendText,
  startDeliveryNode,
  user,
} from './support/delivery'
import { abandonsOf, pushesOf, recorded } from './support/log'
import { expectMarbles, type Happened } from './support/marbles'

// The delivery process manager on a virtual clock, one node: first push, backoff, giving up,
// acknowledgement, offline recipients and the hand-over of a queued conversation's messages.
// TEST_POLICY: ackTimeoutMs 1000, maxAttempts 5.

const SENT_AT = 10_000

t.test('pushes a stored message at once to every channel of the recipient, once', async (t) => {
  // Given a conversation with the user on two connections and the agent on one
  const world = await givenDeliveryWorld(t)
  const node = await startDeliveryNode(t, world)
  const conversationId = await givenAssignedConversation(node.commands, 'u1', 'a1')
  const phone = node.channels.open(user('u1'), 'phone')
  const laptop = node.channels.open(user('u1'), 'laptop')
  const desk = node.channels.open(agent('a1'), 'desk')
  await world.clock.advanceTo(SENT_AT)

  // When the agent's message is stored
  const sent = await sendText(node.commands, agent('a1'), conversationId, 'hello')
  await world.clock.settle()

  // Then each of the user's connections has it once, now, and the sender has nothing
  for (const channel of [phone, laptop]) {
    t.same(
      channel.pushes().map(({ at, frame }) => ({ at, ...frame })),
      [
        {
          at: SENT_AT,
          type: 'message',
          messageId: sent.messageId,
          conversationId,
          seq: sent.seq,
          from: agent('a1'),
          content: { format: 'text', text: 'hello' },
          sentAt: SENT_AT,
        },
      ],
      `the ${channel.name} got the message once`,
    )
  }
  t.same(desk.pushes(), [], 'the sender is not pushed its own message')

  // And the push is recorded as attempt 1, due again one ack timeout later
  t.same(await pushesOf(world.events, sent.messageId), [
    {
      conversationId,
      messageId: sent.messageId,
      seq: sent.seq,
      recipient: user('u1'),
      attempt: 1,
      pushedAt: SENT_AT,
      nextDueAt: SENT_AT + world.policy.ackTimeoutMs,
    },
  ])
})

t.test(
  're-pushes an unacknowledged message with the same id and seq after 1, 2, 4 and 8 timeouts',
  async (t) => {
    // Given a message pushed once to a user who never acknowledges
    const world = await givenDeliveryWorld(t)
    const node = await startDeliveryNode(t, world)
    const conversationId = await givenAssignedConversation(node.commands, 'u1', 'a1')
    const phone = node.channels.open(user('u1'), 'phone')
    await world.clock.advanceTo(SENT_AT)
    const sent = await sendText(node.commands, agent('a1'), conversationId, 'are you there?')

    // When time passes to just before, and then to, the first ack timeout
    await world.clock.advanceTo(SENT_AT + 999)
    t.same(phone.pushTimesOf(sent.messageId), [SENT_AT], 'no re-push before the timeout')
    await world.clock.advanceTo(SENT_AT + 1_000)
    t.same(phone.pushTimesOf(sent.messageId), [SENT_AT, SENT_AT + 1_000], 're-pushed on time')

    // And on until long after the last wait
    await world.clock.advanceTo(SENT_AT + 100_000)

    // Then the pushes are spaced 1, 2, 4 and 8 s apart, five in all, the first included
    const times = [0, 1_000, 3_000, 7_000, 15_000].map((dt) => SENT_AT + dt)
    t.same(phone.pushTimesOf(sent.messageId), times, 'maxAttempts pushes, exponentially spaced')
    const first = phone.pushes()[0].frame
    for (const { frame } of phone.pushes()) {
      t.same(frame, first, 'every re-push is the very frame of the first push')
    }
    t.same(
      (await pushesOf(world.events, sent.messageId)).map((p) => [p.attempt, p.pushedAt, p.seq]),
      times.map((at, i) => [i + 1, at, sent.seq]),
      'each push recorded once, attempts 1 to 5',
    )

    // And giving up is recorded once, after the wait that followed the last push
    t.same(await abandonsOf(world.events, sent.messageId), [
      {
        conversationId,
        messageId: sent.messageId,
        recipient: user('u1'),
        attempts: 5,
        at: SENT_AT + 31_000,
      },
    ])
    t.same(
      node.manager.pendingFor(user('u1')).map((r) => r.abandoned),
      [true],
    )
  },
)

t.test('the resend schedule, as a marble diagram', async (t) => {
  // Given a message to a user who never acknowledges
  const world = await givenDeliveryWorld(t)
  const node = await startDeliveryNode(t, world)
  const conversationId = await givenAssignedConversation(node.commands, 'u1', 'a1')
  const phone = node.channels.open(user('u1'), 'phone')
  await world.clock.advanceTo(SENT_AT)
  const sent = await sendText(node.commands, agent('a1'), conversationId, 'ping')

  // When 100 virtual seconds pass
  await world.clock.advanceTo(SENT_AT + 100_000)

  // Then: pushes (p) at 0, 1, 3, 7 and 15 s, given up (x) at 31 s, and nothing else
  const pushes: Happened<string>[] = phone
    .pushes()
    .map(({ at, frame }) => ({ at, value: `push ${frame.messageId} #${frame.seq}` }))
  const abandons = (await abandonsOf(world.events, sent.messageId)).map((a) => ({
    at: a.at,
    value: `abandoned after ${a.attempts}`,
  }))
  expectMarbles(t, [...pushes, ...abandons], SENT_AT, {
    marbles: 'p 999ms p 1999ms p 3999ms p 7999ms p 15999ms x',
    values: { p: `push ${sent.messageId} #${sent.seq}`, x: 'abandoned after 5' },
    subscription: '^ 99999ms !',
  })
})

t.test('an acknowledgement stops the re-pushes', async (t) => {
  // Given a message pushed twice
  const world = await givenDeliveryWorld(t)
  const node = await startDeliveryNode(t, world)
  const conversationId = await givenAssignedConversation(node.commands, 'u1', 'a1')
  const phone = node.channels.open(user('u1'), 'phone')
  await world.clock.advanceTo(SENT_AT)
  const sent = await sendText(node.commands, agent('a1'), conversationId, 'got it?')
  await world.clock.advanceTo(SENT_AT + 1_500)

  // When the user acknowledges it before the third push is due
  await node.commands.acknowledge(user('u1'), conversationId, [sent.messageId])
  await world.clock.advanceTo(SENT_AT + 100_000)

  // Then nothing more is pushed, recorded or given up
  t.same(phone.pushTimesOf(sent.messageId), [SENT_AT, SENT_AT + 1_000])
  t.same(
    (await pushesOf(world.events, sent.messageId)).map((p) => p.attempt),
    [1, 2],
  )
  t.same(await abandonsOf(world.events, sent.messageId), [])
  t.same(node.manager.pendingFor(user('u1')), [], 'nothing pending for the user')
})

t.test('pushes nothing to a recipient with no connection and counts no attempt', async (t) => {
  // Given a user with no connection on this node
  const world = await givenDeliveryWorld(t)
  const node = await startDeliveryNode(t, world)
  const conversationId = await givenAssignedConversation(node.commands, 'u1', 'a1')
  await world.clock.advanceTo(SENT_AT)

  // When the agent sends three messages and much time passes
  const sent = []
  for (const body of ['one', 'two', 'three']) {
    sent.push(await sendText(node.commands, agent('a1'), conversationId, body))
    await world.clock.advanceBy(10)
  }
  await world.clock.advanceTo(SENT_AT + 100_000)

  // Then no push is recorded or given up, and all three wait, never pushed
  t.same(await recorded(world.events, 'MessagePushed'), [])
  t.same(await recorded(world.events, 'PushAbandoned'), [])
  t.same(
    node.manager.pendingFor(user('u1')).map((r) => [r.seq, r.pushes]),
    sent.map((s) => [s.seq, 0]),
  )
})

t.test('pushes everything unacknowledged in seq order when a channel connects', async (t) => {
  // Given three messages stored while the user had no connection
  const world = await givenDeliveryWorld(t)
  const node = await startDeliveryNode(t, world)
  const conversationId = await givenAssignedConversation(node.commands, 'u1', 'a1')
  await world.clock.advanceTo(SENT_AT)
  const sent = []
  for (const body of ['one', 'two', 'three']) {
    sent.push(await sendText(node.commands, agent('a1'), conversationId, body))
    await world.clock.advanceBy(10)
  }
  await world.clock.advanceTo(SENT_AT + 60_000)

  // When the user connects
  const phone = node.channels.open(user('u1'), 'phone')
  await node.manager.connected(user('u1'), phone)
  await world.clock.settle()

  // Then the three arrive at once, in seq order, each once, each recorded as attempt 1
  const connectedAt = SENT_AT + 60_000
  t.same(
    phone.pushes().map(({ at, frame }) => [at, frame.seq, frame.messageId]),
    sent.map((s) => [connectedAt, s.seq, s.messageId]),
  )
  const pushes = await recorded(world.events, 'MessagePushed')
  t.same(
    pushes.map((p) => [p.seq, p.attempt, p.pushedAt]),
    sent.map((s) => [s.seq, 1, connectedAt]),
  )

  // And the re-pushes then follow the usual schedule from the connection time
  await world.clock.advanceTo(connectedAt + 1_000)
  t.same(
    phone
      .pushes()
      .slice(3)
      .map(({ at, frame }) => [at, frame.seq]),
    sent.map((s) => [connectedAt + 1_000, s.seq]),
  )
})

t.test(
  'pushes a queued conversation’s messages to the agent on assignment, in seq order',
  async (t) => {
    // Given a queued conversation in which the user wrote twice, and an agent connected
    const world = await givenDeliveryWorld(t)
    const node = await startDeliveryNode(t, world)
    const desk = node.channels.open(agent('a1'), 'desk')
    const { conversationId } = await node.commands.currentConversationOf('u1')
    await node.commands.queue(conversationId, 1)
    await world.clock.advanceTo(SENT_AT)
    const first = await sendText(node.commands, user('u1'), conversationId, 'hello?')
    await world.clock.advanceBy(100)
    const second = await sendText(node.commands, user('u1'), conversationId, 'anyone?')
    await world.clock.advanceBy(100)
    t.same(desk.pushes(), [], 'nothing reaches an agent before assignment')

    // When the conversation is assigned to that agent
    const assigned = await node.commands.assign(conversationId, 'a1')
    await world.clock.settle()

    // Then the agent gets both messages and then the notice: seq order, since the messages
    // written while queued took lower seqs than the `assigned` notice
    const notice = assigned.events[0].data as { messageId: string; seq: number }
    const assignedAt = SENT_AT + 200
    t.same(
      desk.pushes().map(({ at, frame }) => [at, frame.type, frame.seq, frame.messageId]),
      [
        [assignedAt, 'message', first.seq, first.messageId],
        [assignedAt, 'message', second.seq, second.messageId],
        [assignedAt, 'system', notice.seq, notice.messageId],
      ],
    )
    t.ok(first.seq < second.seq && second.seq < notice.seq, 'seqs ascend')
    t.same(
      (await recorded(world.events, 'MessagePushed', (p) => p.recipient.role === 'agent')).map(
        (p) => [p.seq, p.attempt],
      ),
      [
        [first.seq, 1],
        [second.seq, 1],
        [notice.seq, 1],
      ],
    )
  },
)

// BUG (src/projections/delivery/delivery-manager.ts, due): the "no connection here" guard comes
// before the give-up branch, so a recipient who goes away after the last push is never given up
// on: the timer is dropped, `connected` skips rows at maxAttempts, and the row stays pending with
// a due time in the past until some other event of the conversation happens to re-arm it.
t.test('gives up once on a message whose recipient went away after the last push', async (t) => {
  // Given a message pushed five times, the last at 25 s, to a user who then disconnects
  const world = await givenDeliveryWorld(t)
  const node = await startDeliveryNode(t, world)
  const conversationId = await givenAssignedConversation(node.commands, 'u1', 'a1')
  const phone = node.channels.open(user('u1'), 'phone')
  await world.clock.advanceTo(SENT_AT)
  const sent = await sendText(node.commands, agent('a1'), conversationId, 'last call')
  await world.clock.advanceTo(SENT_AT + 16_000)
  node.channels.close(phone)

  // When the wait after the last push runs out, and the user later comes back
  await world.clock.advanceTo(SENT_AT + 100_000)
  const laptop = node.channels.open(user('u1'), 'laptop')
  await node.manager.connected(user('u1'), laptop)
  await world.clock.advanceTo(SENT_AT + 200_000)

  // Then giving up is recorded once, when it was due, and nothing more is pushed
  t.same(
    (await abandonsOf(world.events, sent.messageId)).map((a) => [a.attempts, a.at]),
    [[5, SENT_AT + 31_000]],
  )
  t.same(laptop.pushes(), [], 'a given-up message is left to the history endpoint')
  t.same(
    node.manager.pendingFor(user('u1')).map((r) => r.abandoned),
    [true],
  )
})
