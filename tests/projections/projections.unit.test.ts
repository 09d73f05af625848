import t from 'tap'
import { agentsProjection } from '../../src/projections/readmodels/agents'
import { conversationsProjection } from '../../src/projections/readmodels/conversations'
import { messageKey, messagesProjection } from '../../src/projections/readmodels/messages'
import { pendingAcksProjection } from '../../src/projections/readmodels/pending-acks'
import {
  abandoned,
  acked,
  agent,
  assigned,
  closed,
  opened,
  project,
  pushed,
  queued,
  seatReleased,
  seatsSet,
  seatTaken,
  sent,
  text,
  user,
} from './fixture'

const SYSTEM = { role: 'system', id: 'system' }

t.test('messages', async (t) => {
  t.test('gives each message and notice its own seq-keyed timeline entry', async (t) => {
    const docs = project(messagesProjection, [
      opened('c1', 'u1'),
      queued('c1', 1, 3),
      sent('c1', 2, user('u1')),
      assigned('c1', 3, 'a1'),
      pushed('c1', 2, agent('a1'), 1),
      closed('c1', 4, 'a1', 'agent_closed'),
    ])

    t.same(
      [...docs.keys()],
      [1, 2, 3, 4].map((seq) => `messages/${messageKey('c1', seq)}`),
    )
    t.same(docs.get(`messages/c1:000000000001`), {
      conversationId: 'c1',
      seq: 1,
      messageId: 'c1-m1',
      kind: 'system',
      from: SYSTEM,
      event: 'queued',
      position: 3,
      sentAt: 1_001,
    })
    t.same(docs.get(`messages/c1:000000000002`), {
      conversationId: 'c1',
      seq: 2,
      messageId: 'c1-m2',
      kind: 'message',
      from: user('u1'),
      content: text('message 2'),
      sentAt: 1_003,
    })
    t.match(docs.get(`messages/c1:000000000003`), { event: 'assigned', agentId: 'a1' })
    t.match(docs.get(`messages/c1:000000000004`), {
      event: 'closed',
      agentId: 'a1',
      reason: 'agent_closed',
    })
  })
})

t.test('conversations', async (t) => {
  t.test('reads an opened conversation as queued with nothing in it yet', async (t) => {
    const docs = project(conversationsProjection, [opened('c1', 'u1', 10)])

    t.same(docs.get('conversations/c1'), {
      conversationId: 'c1',
      userId: 'u1',
      agentId: null,
      status: 'queued',
      openedAt: 10,
      closedAt: null,
      closeReason: null,
      lastSeq: 0,
      lastMessage: null,
      queuedAt: null,
      queueRank: 10,
    })
  })

  t.test('follows queueing, assignment, messages and closing', async (t) => {
    const given = [opened('c1', 'u1', 10), queued('c1', 1), assigned('c1', 2, 'a1')]
    const whenSent = project(conversationsProjection, [...given, sent('c1', 3, agent('a1'), 77)])
    const whenClosed = project(conversationsProjection, [
      ...given,
      sent('c1', 3, agent('a1')),
      acked('c1', 3, user('u1')),
      closed('c1', 4, 'a1', 'user_left'),
    ])

    t.match(whenSent.get('conversations/c1'), {
      status: 'open',
      agentId: 'a1',
      queuedAt: 1_001,
      lastSeq: 3,
      lastMessage: { messageId: 'c1-m3', seq: 3, from: agent('a1'), format: 'text', sentAt: 77 },
    })
    t.match(whenClosed.get('conversations/c1'), {
      status: 'closed',
      closedAt: 5_000,
      closeReason: 'user_left',
      lastSeq: 4,
      lastMessage: { messageId: 'c1-m4', seq: 4, from: SYSTEM, format: null, sentAt: 5_000 },
    })
  })

  t.test('ignores events of a conversation it never saw opened', async (t) => {
    const docs = project(conversationsProjection, [sent('ghost', 1, user('u1'))])

    t.equal(docs.size, 0)
  })
})

t.test('agents', async (t) => {
  t.test('counts the conversations an agent holds, once each', async (t) => {
    const docs = project(agentsProjection, [
      seatTaken('a1', 'c1'),
      seatsSet('a1', 3),
      seatTaken('a1', 'c2'),
      seatTaken('a1', 'c2'),
      seatTaken('a1', 'c3'),
      seatReleased('a1', 'c1'),
      opened('c9', 'u9'),
    ])

    t.same(
      [...docs.entries()],
      [
        [
          'agents/a1',
          { agentId: 'a1', seats: 3, conversations: ['c2', 'c3'], openConversations: 2 },
        ],
      ],
    )
  })
})

t.test('pending acknowledgements', async (t) => {
  const row = (c: string, seq: number, to: { role: string; id: string }) =>
    `pending_acks/${c}-m${seq}|${to.role}:${to.id}`

  t.test('holds what a user sends before assignment until an agent is assigned', async (t) => {
    const given = [opened('c1', 'u1'), queued('c1', 1), sent('c1', 2, user('u1'))]
    const beforeAssign = project(pendingAcksProjection, given)
    const afterAssign = project(pendingAcksProjection, [...given, assigned('c1', 3, 'a1')])

    t.same([...beforeAssign.keys()].sort(), [row('c1', 1, user('u1')), 'pending_conversations/c1'])
    t.match(beforeAssign.get('pending_conversations/c1'), {
      conversationId: 'c1',
      userId: 'u1',
      agentId: null,
      awaitingAgent: [{ messageId: 'c1-m2', seq: 2 }],
    })
    t.same([...afterAssign.keys()].sort(), [
      row('c1', 1, user('u1')),
      row('c1', 2, agent('a1')),
      row('c1', 3, agent('a1')),
      row('c1', 3, user('u1')),
      'pending_conversations/c1',
    ])
    t.same(afterAssign.get(row('c1', 2, agent('a1'))), {
      messageId: 'c1-m2',
      conversationId: 'c1',
      seq: 2,
      recipient: agent('a1'),
      recipientKey: 'agent:a1',
      pushes: 0,
      lastPushAt: null,
      nextDueAt: null,
      abandoned: false,
    })
    t.match(afterAssign.get('pending_conversations/c1'), { agentId: 'a1', awaitingAgent: [] })
  })

  t.test('addresses each message to the other side and a notice to both', async (t) => {
    const docs = project(pendingAcksProjection, [
      opened('c1', 'u1'),
      assigned('c1', 1, 'a1'),
      sent('c1', 2, user('u1')),
      sent('c1', 3, agent('a1')),
      closed('c1', 4, 'a1'),
    ])

    t.same([...docs.keys()].filter((k) => k.startsWith('pending_acks/')).sort(), [
      row('c1', 1, agent('a1')),
      row('c1', 1, user('u1')),
      row('c1', 2, agent('a1')),
      row('c1', 3, user('u1')),
      row('c1', 4, agent('a1')),
      row('c1', 4, user('u1')),
    ])
  })

  t.test('records pushes, drops acknowledged rows and marks abandoned ones', async (t) => {
    const docs = project(pendingAcksProjection, [
      opened('c1', 'u1'),
      assigned('c1', 1, 'a1'),
      sent('c1', 2, agent('a1')),
      pushed('c1', 2, user('u1'), 1, 2_000),
      pushed('c1', 2, user('u1'), 2, 2_500),
      pushed('c1', 1, user('u1'), 1),
      abandoned('c1', 1, user('u1')),
      acked('c1', 1, agent('a1')),
      pushed('c1', 1, agent('a1'), 1),
    ])

    t.match(docs.get(row('c1', 2, user('u1'))), {
      pushes: 2,
      lastPushAt: 2_500,
      nextDueAt: 4_500,
      abandoned: false,
    })
    t.match(docs.get(row('c1', 1, user('u1'))), { pushes: 1, nextDueAt: null, abandoned: true })
    t.notOk(docs.has(row('c1', 1, agent('a1'))), 'a push after the ack does not revive the row')
  })
})
