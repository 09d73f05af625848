import t from 'tap'
import { conversationDecider } from '../../src/domain/conversation/decider'
import { ackWaitAfter } from '../../src/domain/delivery/backoff'
import {
  abandoned,
  abandonPush,
  acknowledge,
  acknowledged,
  admin,
  agent,
  assign,
  assigned,
  close,
  closed,
  hello,
  open,
  opened,
  otherAgent,
  otherUser,
  policy,
  pushed,
  queue,
  queued,
  recordPush,
  send,
  sent,
  user,
} from './conversation-fixtures'
import { spec } from './decider-spec'

const { given } = spec(conversationDecider)

/** A user's message `m-2` waiting for the assigned agent; pushes below start at `PUSH_AT`. */
const talking = [opened(), assigned(1), sent(2)]
const PUSH_AT = 5_000
const firstPush = pushed('m-2', 2, agent, 1, PUSH_AT, PUSH_AT + 1_000)
const secondPush = pushed('m-2', 2, agent, 2, PUSH_AT + 1_000, PUSH_AT + 3_000)
const thirdPush = pushed('m-2', 2, agent, 3, PUSH_AT + 3_000, PUSH_AT + 7_000)
const exhausted = [...talking, firstPush, secondPush, thirdPush]

t.test('OpenConversation', async (t) => {
  t.test('opens a conversation for the user', given([]).when(open()).then([opened()]))

  t.test(
    'does nothing when the same user opens it again',
    given([opened()]).when(open()).thenNothing(),
  )

  t.test(
    'does nothing when the same user opens it again after it closed',
    given([opened(), assigned(1), closed(2)])
      .when(open())
      .thenNothing(),
  )

  t.test(
    'refuses an id already taken by another user',
    given([opened()]).when(open(otherUser.id)).thenThrows('conflict'),
  )
})

t.test('QueueConversation', async (t) => {
  t.test(
    'queues a new conversation as a notice with the next seq',
    given([opened()])
      .when(queue(1, 3))
      .then([queued(1, 'n-1', 3)]),
  )

  t.test(
    'does nothing when it is already queued',
    given([opened(), queued(1)])
      .when(queue(2))
      .thenNothing(),
  )

  t.test(
    'does nothing once an agent has it',
    given([opened(), assigned(1)])
      .when(queue(2))
      .thenNothing(),
  )

  t.test(
    'does nothing once it is closed',
    given([opened(), closed(1, null, 'user_left', null)])
      .when(queue(2))
      .thenNothing(),
  )

  t.test(
    'refuses a conversation that does not exist',
    given([]).when(queue(1)).thenThrows('not_found'),
  )
})

t.test('AssignAgent', async (t) => {
  t.test(
    'assigns an agent to a new conversation',
    given([opened()])
      .when(assign(1))
      .then([assigned(1)]),
  )

  t.test(
    'assigns an agent to a queued conversation with the seq after the queued notice',
    given([opened(), queued(1)])
      .when(assign(2))
      .then([assigned(2)]),
  )

  t.test(
    'does nothing when the same agent is assigned again',
    given([opened(), assigned(1)])
      .when(assign(2))
      .thenNothing(),
  )

  t.test(
    'refuses another agent while the conversation is open',
    given([opened(), assigned(1)])
      .when(assign(2, otherAgent.id))
      .thenThrows('conflict'),
  )

  t.test(
    'refuses a closed conversation, even for the agent it had',
    given([opened(), assigned(1), closed(2)])
      .when(assign(3))
      .thenThrows('conflict'),
  )

  t.test(
    'refuses a conversation that does not exist',
    given([]).when(assign(1)).thenThrows('not_found'),
  )
})

t.test('SendMessage', async (t) => {
  t.test(
    "stores the user's message with the next seq",
    given([opened()])
      .when(send(1))
      .then([sent(1)]),
  )

  t.test(
    "stores the assigned agent's message",
    given([opened(), assigned(1)])
      .when(send(2, { from: agent }))
      .then([sent(2, { from: agent })]),
  )

  t.test(
    'counts system notices as well as messages in the seq',
    given([opened(), queued(1), sent(2), assigned(3)])
      .when(send(4))
      .then([sent(4)]),
  )

  t.test(
    'forbids an agent other than the assigned one',
    given([opened(), assigned(1)])
      .when(send(2, { from: otherAgent }))
      .thenThrows('forbidden'),
  )

  t.test(
    'forbids any agent before one is assigned',
    given([opened(), queued(1)])
      .when(send(2, { from: agent }))
      .thenThrows('forbidden'),
  )

  t.test(
    'forbids another user',
    given([opened(), assigned(1)])
      .when(send(2, { from: otherUser }))
      .thenThrows('forbidden'),
  )

  t.test(
    'forbids an admin',
    given([opened(), assigned(1)])
      .when(send(2, { from: admin }))
      .thenThrows('forbidden'),
  )

  t.test(
    'does nothing for a retry with the same clientMsgId and content',
    given([opened(), sent(1, { clientMsgId: 'c-1' })])
      .when(send(2, { clientMsgId: 'c-1' }))
      .thenNothing(),
  )

  t.test(
    'treats the same content with its keys in another order as a retry',
    given([
      opened(),
      sent(1, {
        clientMsgId: 'c-1',
        content: { format: 'order_card', orderId: 'o-1', title: 'Shoes', priceCents: 4_200 },
      }),
    ])
      .when(
        send(2, {
          clientMsgId: 'c-1',
          content: { priceCents: 4_200, title: 'Shoes', orderId: 'o-1', format: 'order_card' },
        }),
      )
      .thenNothing(),
  )

  t.test(
    'refuses the same clientMsgId with other content, naming the stored message',
    given([opened(), sent(1, { clientMsgId: 'c-1' })])
      .when(send(2, { clientMsgId: 'c-1', content: { format: 'text', text: 'bye' } }))
      .thenThrows('conflict', { messageId: 'm-1' }),
  )

  t.test(
    'takes the same clientMsgId from a different sender as a different message',
    given([opened(), assigned(1), sent(2, { clientMsgId: 'c-1' })])
      .when(send(3, { from: agent, clientMsgId: 'c-1' }))
      .then([sent(3, { from: agent, clientMsgId: 'c-1' })]),
  )

  t.test(
    'refuses a new message once the conversation is closed',
    given([opened(), assigned(1), closed(2)])
      .when(send(3))
      .thenThrows('conversation_closed'),
  )

  t.test(
    'does nothing for a retry of a message stored before the close',
    given([opened(), assigned(1), sent(2, { clientMsgId: 'c-1' }), closed(3)])
      .when(send(4, { clientMsgId: 'c-1' }))
      .thenNothing(),
  )

  t.test(
    'refuses a conversation that does not exist',
    given([]).when(send(1)).thenThrows('not_found'),
  )
})

t.test('RecordPush', async (t) => {
  t.test(
    'records the first push as attempt 1, due one ack timeout later',
    given(talking)
      .when(recordPush('m-2', agent, 'first', PUSH_AT))
      .then([firstPush]),
  )

  t.test(
    'does nothing for a second first push',
    given([...talking, firstPush])
      .when(recordPush('m-2', agent, 'first', PUSH_AT + 10))
      .thenNothing(),
  )

  t.test(
    'does nothing for a due push before the due time',
    given([...talking, firstPush])
      .when(recordPush('m-2', agent, 'due', PUSH_AT + 999))
      .thenNothing(),
  )

  t.test(
    'does nothing for a due push of a message never pushed',
    given(talking)
      .when(recordPush('m-2', agent, 'due', PUSH_AT))
      .thenNothing(),
  )

  t.test(
    'records a due push at the due time as attempt 2, waiting twice as long',
    given([...talking, firstPush])
      .when(recordPush('m-2', agent, 'due', PUSH_AT + 1_000))
      .then([secondPush]),
  )

  t.test(
    'records a reconnect push before the due time as the next attempt',
    given([...talking, firstPush])
      .when(recordPush('m-2', agent, 'reconnect', PUSH_AT + 10))
      .then([pushed('m-2', 2, agent, 2, PUSH_AT + 10, PUSH_AT + 10 + 2_000)]),
  )

  t.test(
    'takes the wait after each attempt from ackWaitAfter',
    given([...talking, firstPush, secondPush])
      .when(recordPush('m-2', agent, 'due', PUSH_AT + 3_000))
      .then([
        pushed('m-2', 2, agent, 3, PUSH_AT + 3_000, PUSH_AT + 3_000 + ackWaitAfter(3, 1_000)),
      ]),
  )

  t.test('does nothing after the last allowed attempt, whatever the reason', async (t) => {
    t.equal(policy.maxAttempts, 3)
    for (const reason of ['first', 'due', 'reconnect'] as const) {
      await given(exhausted)
        .when(recordPush('m-2', agent, reason, PUSH_AT + 60_000))
        .thenNothing()(t)
    }
  })

  t.test(
    'does not push a message to its own sender',
    given(talking)
      .when(recordPush('m-2', user, 'first', PUSH_AT))
      .thenNothing(),
  )

  t.test('does not push to anyone outside the conversation', async (t) => {
    for (const stranger of [otherAgent, otherUser, admin]) {
      await given(talking)
        .when(recordPush('m-2', stranger, 'first', PUSH_AT))
        .thenNothing()(t)
    }
  })

  t.test(
    "does not push a user's message before an agent is assigned, then pushes it to that agent",
    async (t) => {
      await given([opened(), sent(1)])
        .when(recordPush('m-1', agent, 'first', PUSH_AT))
        .thenNothing()(t)
      await given([opened(), sent(1), assigned(2)])
        .when(recordPush('m-1', agent, 'first', PUSH_AT))
        .then([pushed('m-1', 1, agent, 1, PUSH_AT, PUSH_AT + 1_000)])(t)
    },
  )

  t.test('pushes a system notice to both sides', async (t) => {
    for (const side of [user, agent]) {
      await given([opened(), assigned(1)])
        .when(recordPush('n-1', side, 'first', PUSH_AT))
        .then([pushed('n-1', 1, side, 1, PUSH_AT, PUSH_AT + 1_000)])(t)
    }
  })

  t.test(
    'still pushes the closed notice once the conversation is closed',
    given([opened(), assigned(1), closed(2)])
      .when(recordPush('n-2', user, 'first', PUSH_AT))
      .then([pushed('n-2', 2, user, 1, PUSH_AT, PUSH_AT + 1_000)]),
  )

  t.test(
    'does nothing once the recipient acknowledged',
    given([...talking, firstPush, acknowledged('m-2', agent, PUSH_AT + 10)])
      .when(recordPush('m-2', agent, 'reconnect', PUSH_AT + 20))
      .thenNothing(),
  )

  t.test(
    'does nothing once the push was abandoned',
    given([...exhausted, abandoned('m-2', agent, 3, PUSH_AT + 7_000)])
      .when(recordPush('m-2', agent, 'reconnect', PUSH_AT + 8_000))
      .thenNothing(),
  )

  t.test(
    'refuses a message that is not in the conversation',
    given(talking)
      .when(recordPush('m-404', agent, 'first', PUSH_AT))
      .thenThrows('not_found'),
  )
})

t.test('AbandonPush', async (t) => {
  t.test(
    'abandons when the last allowed push is due and unacknowledged',
    given(exhausted)
      .when(abandonPush('m-2', agent, PUSH_AT + 7_000))
      .then([abandoned('m-2', agent, 3, PUSH_AT + 7_000)]),
  )

  t.test(
    'does nothing before the last push is due',
    given(exhausted)
      .when(abandonPush('m-2', agent, PUSH_AT + 6_999))
      .thenNothing(),
  )

  t.test(
    'does nothing while attempts remain, even when due',
    given([...talking, firstPush, secondPush])
      .when(abandonPush('m-2', agent, PUSH_AT + 60_000))
      .thenNothing(),
  )

  t.test(
    'does nothing once the recipient acknowledged',
    given([...exhausted, acknowledged('m-2', agent, PUSH_AT + 6_000)])
      .when(abandonPush('m-2', agent, PUSH_AT + 7_000))
      .thenNothing(),
  )

  t.test(
    'does nothing when already abandoned',
    given([...exhausted, abandoned('m-2', agent, 3, PUSH_AT + 7_000)])
      .when(abandonPush('m-2', agent, PUSH_AT + 8_000))
      .thenNothing(),
  )
})

t.test('AcknowledgeMessages', async (t) => {
  const ack = (messageId: string, by = agent, at = PUSH_AT + 100) => acknowledged(messageId, by, at)

  t.test(
    'acknowledges a message for its recipient',
    given([...talking, firstPush])
      .when(acknowledge(agent, ['m-2'], PUSH_AT + 100))
      .then([ack('m-2')]),
  )

  t.test(
    'acknowledges several messages in the order of the frame',
    given([...talking, sent(3)])
      .when(acknowledge(agent, ['m-3', 'n-1', 'm-2'], PUSH_AT + 100))
      .then([ack('m-3'), ack('n-1'), ack('m-2')]),
  )

  t.test(
    'ignores unknown ids',
    given(talking)
      .when(acknowledge(agent, ['m-404', 'm-2', ''], PUSH_AT + 100))
      .then([ack('m-2')]),
  )

  t.test(
    'ignores a duplicate id in the same frame',
    given(talking)
      .when(acknowledge(agent, ['m-2', 'm-2'], PUSH_AT + 100))
      .then([ack('m-2')]),
  )

  t.test(
    'ignores a repeated acknowledgement',
    given([...talking, ack('m-2')])
      .when(acknowledge(agent, ['m-2'], PUSH_AT + 200))
      .thenNothing(),
  )

  t.test(
    "ignores the sender's acknowledgement of its own message",
    given(talking)
      .when(acknowledge(user, ['m-2'], PUSH_AT + 100))
      .thenNothing(),
  )

  t.test('ignores anyone outside the conversation', async (t) => {
    for (const stranger of [otherAgent, otherUser, admin]) {
      await given(talking)
        .when(acknowledge(stranger, ['m-2', 'n-1'], PUSH_AT))
        .thenNothing()(t)
    }
  })

  t.test('lets both sides acknowledge a system notice', async (t) => {
    for (const side of [user, agent]) {
      await given(talking)
        .when(acknowledge(side, ['n-1'], PUSH_AT + 100))
        .then([ack('n-1', side)])(t)
    }
  })

  t.test(
    'lets the other side acknowledge a notice one side already acknowledged',
    given([...talking, ack('n-1', user)])
      .when(acknowledge(agent, ['n-1'], PUSH_AT + 100))
      .then([ack('n-1', agent)]),
  )
})

t.test('CloseConversation', async (t) => {
  t.test(
    'lets the assigned agent close it, with the closed notice at the next seq',
    given(talking)
      .when(close(3, agent))
      .then([closed(3, agent, 'agent_closed', agent.id)]),
  )

  t.test(
    'lets an admin close it, even before an agent is assigned',
    given([opened(), queued(1)])
      .when(close(2, admin, 'admin_closed'))
      .then([closed(2, admin, 'admin_closed', null)]),
  )

  t.test(
    'lets the system close it when the user has left',
    given(talking)
      .when(close(3, null, 'user_left'))
      .then([closed(3, null, 'user_left', agent.id)]),
  )

  t.test('forbids the user', given(talking).when(close(3, user)).thenThrows('forbidden'))

  t.test(
    'forbids an agent other than the assigned one',
    given(talking).when(close(3, otherAgent)).thenThrows('forbidden'),
  )

  t.test(
    'forbids any agent before one is assigned',
    given([opened(), queued(1)])
      .when(close(2, agent))
      .thenThrows('forbidden'),
  )

  t.test('does nothing when it is already closed', async (t) => {
    for (const by of [agent, admin, null]) {
      await given([...talking, closed(3)])
        .when(close(4, by))
        .thenNothing()(t)
    }
  })

  t.test(
    'counts every message and notice before it in the seq',
    given([...talking, sent(3, { from: agent, content: hello }), sent(4), firstPush])
      .when(close(5, agent))
      .then([closed(5)]),
  )

  t.test(
    'refuses a conversation that does not exist',
    given([]).when(close(1, admin)).thenThrows('not_found'),
  )
})
