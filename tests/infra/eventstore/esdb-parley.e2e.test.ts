import t from 'tap'
import { categoryOf } from '../../../src/domain/shared/streams'
import { createEsdbEventStore } from '../../../src/infra/eventstore/esdb/esdb-event-store'
import { startEsdbDouble } from '../../support/esdb-double/double'
import {
  fetchMessages,
  openConversation,
  startTestServer,
  text,
  uniqueId,
} from '../../support/server'

t.test('serves a conversation end to end with its events in EventStoreDB', async (t) => {
  // Given Parley on the adapter, over a double
  const double = await startEsdbDouble()
  t.teardown(() => double.close())
  const events = createEsdbEventStore({ connectionString: double.url })
  const server = await startTestServer({ overrides: { events } })
  t.teardown(() => server.close())

  // When a user opens a conversation, it is assigned, and both sides write and acknowledge
  const opened = await openConversation(server)
  t.teardown(() => Promise.all([opened.user.close(), opened.agent.close()]))
  const { conversationId, user, agent } = opened
  const reply = await agent.sendMessage({
    clientMsgId: uniqueId('reply'),
    conversationId,
    content: text('how can I help?'),
  })
  t.equal(reply.type, 'sent')
  await user.next((f) => f.type === 'message' && f.messageId === reply.messageId)

  // Then the history is served from read models built over the adapter
  const history = await fetchMessages(server, { role: 'user', id: opened.userId }, conversationId)
  const bySeq = new Map(history.map((m) => [m.seq, m.messageId]))
  t.equal(bySeq.get(opened.first.seq), opened.first.messageId, 'the first message')
  t.equal(bySeq.get(Number(reply.seq)), reply.messageId, 'the reply')
  t.same(
    history.map((m) => m.seq),
    [1, 2, 3],
    'one seq each, the assignment notice between',
  )
  // And the events are in the double, one stream per aggregate, under Parley's names
  const categories = new Set(double.log.all().map((e) => categoryOf(e.streamName)))
  for (const category of ['conversation', 'agent', 'presence']) {
    t.ok(categories.has(category), `${category} streams written`)
  }
  t.ok(double.log.stream(`conversation-${conversationId}`), 'the conversation has its stream')
})
