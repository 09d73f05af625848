import t, { type Test } from 'tap'
import { createEsdbEventStore } from '../../src/infra/eventstore/esdb/esdb-event-store'
import { createMongoReadModelStore } from '../../src/infra/readmodel/mongo/store'
import { startEsdbDouble } from '../support/esdb-double/double'
import { startMongoDouble } from '../support/mongo-double/server'
import { TEST_SECRET, openConversation, startTestServer, text, uniqueId } from '../support/server'
import { parseLines, parley } from './replay-harness'

// The analyst and operator tools on the production backends: they open the stores that the
// server would, from the same variables, here on the protocol doubles.
t.setTimeout(120_000)

async function doubles(t: Test) {
  const esdb = await startEsdbDouble()
  const mongo = await startMongoDouble()
  t.teardown(async () => {
    await mongo.close()
    await esdb.close()
  })
  return {
    esdb,
    mongo,
    env: {
      PARLEY_EVENTSTORE_URL: esdb.url,
      PARLEY_MONGODB_URL: mongo.url,
      PARLEY_AUTH_SECRET: TEST_SECRET,
    },
  }
}

t.test('replays the log from EventStoreDB when PARLEY_EVENTSTORE_URL is set', async (t) => {
  const { esdb, env } = await doubles(t)
  const store = createEsdbEventStore({ connectionString: esdb.url })
  t.teardown(() => store.close())
  const stream = `conversation-${uniqueId('c')}`
  await store.appendToStream(stream, [
    { type: 'ConversationOpened', data: { n: 1 } },
    { type: 'MessageSent', data: { n: 2 } },
  ])
  const stored = await store.readStream(stream)

  const result = await parley(['replay', '--category', 'conversation'], {
    dataDir: t.testdir(),
    env,
  })

  t.equal(result.code, 0, result.err)
  t.same(
    parseLines(result.out).map((l) => [l.position, l.type, l.data]),
    stored.map((e) => [e.position.toString(), e.type, e.data]),
    'every event of the category, as EventStoreDB stored it',
  )
})

t.test('verifies and rebuilds MongoDB read models from EventStoreDB', async (t) => {
  const { mongo, env } = await doubles(t)
  const dataDir = t.testdir()

  // Given a server on both backends that stored a conversation, then stopped
  const server = await startTestServer({ dataDir, env })
  let opened
  let reply
  try {
    opened = await openConversation(server)
    reply = await opened.agent.sendMessage({
      clientMsgId: uniqueId('k'),
      conversationId: opened.conversationId,
      content: text('on its way'),
    })
    const replyId = reply.messageId
    await opened.user.next((f) => f.type === 'message' && f.messageId === replyId)
    await Promise.all([opened.user.close(), opened.agent.close()])
  } finally {
    // Before the doubles it uses stop, whatever happened.
    await server.close()
  }

  // When verifying every read model, then rebuilding one
  const verified = await parley(['verify'], { dataDir, env })
  const rebuilt = await parley(['rebuild', '--projection', 'messages'], { dataDir, env })

  // Then the live read models equal a fresh rebuild, and the rebuilt one still has the messages
  t.equal(verified.code, 0, `verify: ${verified.err}`)
  t.equal(rebuilt.code, 0, `rebuild: ${rebuilt.err}`)
  const readModels = createMongoReadModelStore({ url: mongo.url })
  t.teardown(() => readModels.close())
  const messages = await readModels.find({
    collection: 'messages',
    where: { conversationId: opened.conversationId },
  })
  t.ok(
    messages.some((m) => m.messageId === reply.messageId),
    'the rebuilt messages read model holds the reply',
  )
})
