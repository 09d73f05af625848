import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { MongoClient } from 'mongodb'
import t from 'tap'
import { ConversationCommands } from '../../src/infra/commands/conversation-commands'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { createSnowflake } from '../../src/infra/ids/snowflake'
import { createMongoReadModelStore } from '../../src/infra/readmodel/mongo/store'
import { EVENTS_FILE } from '../../src/server'
import { startMongoDouble } from '../support/mongo-double'
import { makeDataDir, startTestServer, uniqueId } from '../support/server'

// The HTTP read-model endpoints of a real listening server whose read models are in MongoDB
// (the wire-protocol double): the projections fill it from the embedded log at start-up.

t.test('serves the read-model endpoints from MongoDB read models', async (t) => {
  const double = await startMongoDouble()
  t.teardown(() => double.close())
  const dataDir = makeDataDir()
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))

  // 1. A history in the log: a conversation assigned to an agent, three messages.
  const events = createSqliteEventStore({ path: join(dataDir, EVENTS_FILE) })
  const clock = { now: () => Date.UTC(2025, 0, 6, 9) }
  const commands = new ConversationCommands(events, createSnowflake({ workerId: 3 }), clock, {
    ackTimeoutMs: 5000,
    maxAttempts: 5,
  })
  const user = { role: 'user' as const, id: uniqueId('user') }
  const agent = { role: 'agent' as const, id: uniqueId('agent') }
  const { conversationId } = await commands.currentConversationOf(user.id)
  await commands.assign(conversationId, agent.id)
  for (const [i, from] of [user, agent, user].entries()) {
    await commands.send(from, {
      clientMsgId: `m${i}`,
      conversationId,
      content: { format: 'text', text: `m${i}` },
    })
  }
  await events.close()

  // 2. A server on that log with MongoDB read models.
  const dbName = `parley_e2e_${process.pid.toString()}`
  const readModels = createMongoReadModelStore({ url: double.url, dbName })
  const server = await startTestServer({ dataDir, overrides: { readModels } })
  t.teardown(() => server.close())
  const get = async (path: string, as: { role: 'user' | 'agent' | 'admin'; id: string }) => {
    const headers = { authorization: `Bearer ${server.token(as.role, as.id)}` }
    const res = await fetch(`${server.httpUrl}${path}`, { headers })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  const messages = await get(`/v1/conversations/${conversationId}/messages`, user)
  const listed = await get('/v1/conversations', { role: 'admin', id: uniqueId('admin') })
  const pending = await get(`/v1/pending/${agent.role}/${agent.id}`, agent)

  t.equal(messages.status, 200)
  const texts = (messages.body.messages as { content?: { text: string } }[])
    .map((m) => m.content?.text)
    .filter((x) => x !== undefined)
  t.same(texts, ['m0', 'm1', 'm2'])
  t.match(listed.body.conversations, [{ conversationId, status: 'open', agentId: agent.id }])
  t.equal(pending.status, 200)
  const client = new MongoClient(double.url)
  t.teardown(() => client.close())
  const stored = await client
    .db(dbName)
    .collection('conversations')
    .findOne({ _id: conversationId as never })
  t.match(stored, { _id: conversationId, userId: user.id, _pos: /^\d{20}$/ }, 'stored in MongoDB')
})
