import t from 'tap'
import { messageFrame, pushFrameOf, systemFrame } from '../../src/domain/protocol/push-frames'
import {
  abandoned,
  acknowledged,
  admin,
  agent,
  assigned,
  CONVERSATION_ID,
  closed,
  OPENED_AT,
  opened,
  pushed,
  queued,
  sent,
  user,
} from './conversation-fixtures'

const card = { format: 'order_card', orderId: 'o-1', title: 'Shoes' } as const

t.test('builds a message frame from MessageSent', async (t) => {
  const event = sent(4, { from: agent, clientMsgId: 'c-9', content: card })

  t.strictSame(messageFrame(event), {
    type: 'message',
    messageId: 'm-4',
    conversationId: CONVERSATION_ID,
    seq: 4,
    from: agent,
    content: card,
    sentAt: OPENED_AT + 4,
  })
})

t.test('builds the very same frame for a re-push', async (t) => {
  const event = sent(2)

  t.strictSame(pushFrameOf(event), messageFrame(event))
  t.strictSame(pushFrameOf(event), pushFrameOf(event))
})

t.test('leaves the clientMsgId out of the frame the other side gets', async (t) => {
  t.notOk('clientMsgId' in messageFrame(sent(2)))
})

t.test('builds a queued notice with its position', async (t) => {
  t.strictSame(pushFrameOf(queued(1, 'n-1', 3)), {
    type: 'system',
    messageId: 'n-1',
    conversationId: CONVERSATION_ID,
    seq: 1,
    event: 'queued',
    sentAt: OPENED_AT + 1,
    position: 3,
  })
})

t.test('builds an assigned notice with the agent', async (t) => {
  t.strictSame(systemFrame(assigned(2, 'agent-7')), {
    type: 'system',
    messageId: 'n-2',
    conversationId: CONVERSATION_ID,
    seq: 2,
    event: 'assigned',
    sentAt: OPENED_AT + 2,
    agentId: 'agent-7',
  })
})

t.test('builds a closed notice with the reason', async (t) => {
  t.strictSame(pushFrameOf(closed(5, admin, 'admin_closed')), {
    type: 'system',
    messageId: 'n-5',
    conversationId: CONVERSATION_ID,
    seq: 5,
    event: 'closed',
    sentAt: OPENED_AT + 5,
    reason: 'admin_closed',
  })
})

t.test('builds no frame for events that carry no message or notice', async (t) => {
  const others = [
    opened(),
    pushed('m-2', 2, agent, 1, 5_000, 6_000),
    acknowledged('m-2', agent, 5_100),
    abandoned('m-2', user, 5, 9_000),
  ]

  for (const event of others) t.equal(pushFrameOf(event), null, event.type)
})
