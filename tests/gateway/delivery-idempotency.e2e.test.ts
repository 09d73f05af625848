import { rmSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { conversationStream } from '../../src/domain/shared/streams'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { EVENTS_FILE } from '../../src/server'
import {
  fetchMessages,
  makeDataDir,
  openConversation,
  startTestServer,
  text,
  uniqueId,
  type TestServer,
} from '../support/server'
import { TestClient, type Frame } from '../support/ws-client'

/** A server on `dataDir`, closed (once) at teardown or earlier by the test itself. */
async function serve(t: Test, dataDir: string): Promise<TestServer> {
  const server = await startTestServer({ dataDir })
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => (closing ??= server.close())
  t.teardown(close)
  return { ...server, close }
}

function dataDirFor(t: Test): string {
  const dataDir = makeDataDir()
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  return dataDir
}

async function connect(t: Test, server: TestServer, userId: string): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl, server.token('user', userId))
  t.teardown(() => client.close())
  return client
}

/** The events of a closed server's log, read straight from the file. */
async function storedEvents(dataDir: string, streamName?: string) {
  const events = createSqliteEventStore({ path: join(dataDir, EVENTS_FILE) })
  try {
    if (streamName !== undefined) return await events.readStream(streamName)
    const all = []
    for await (const event of events.readAll()) all.push(event)
    return all
  } finally {
    await events.close()
  }
}

async function storedSends(dataDir: string, conversationId: string, clientMsgId: string) {
  const events = await storedEvents(dataDir, conversationStream(conversationId))
  return events.filter(
    (e) =>
      e.type === 'MessageSent' && (e.data as { clientMsgId: string }).clientMsgId === clientMsgId,
  )
}

const sameMessage = (original: Frame) => ({
  type: 'sent',
  clientMsgId: original.clientMsgId,
  conversationId: original.conversationId,
  messageId: original.messageId,
  seq: original.seq,
})

t.test('a retry on a second socket of the same user gets the same messageId and seq', async (t) => {
  const dataDir = dataDirFor(t)
  const server = await serve(t, dataDir)
  const userId = uniqueId('user')
  const tab1 = await connect(t, server, userId)
  const tab2 = await connect(t, server, userId)
  const clientMsgId = uniqueId('retry')
  const frame = { clientMsgId, content: text('where is my order?') }

  const original = await tab1.sendMessage(frame)
  t.equal(original.type, 'sent')
  const retry = await tab2.sendMessage(frame)
  t.match(retry, sameMessage(original), 'the second socket gets the first answer')

  const history = await fetchMessages(
    server,
    { role: 'user', id: userId },
    String(original.conversationId),
  )
  t.equal(
    history.filter((m) => m.messageId === original.messageId).length,
    1,
    'one message in history',
  )
  t.equal(history.filter((m) => m.from && (m.from as { role: string }).role === 'user').length, 1)
  await server.close()
  t.equal(
    (await storedSends(dataDir, String(original.conversationId), clientMsgId)).length,
    1,
    'one event',
  )
})

t.test('a retry after a reconnect gets the same messageId and seq', async (t) => {
  const dataDir = dataDirFor(t)
  const server = await serve(t, dataDir)
  const userId = uniqueId('user')
  const frame = { clientMsgId: uniqueId('retry'), content: text('hello?') }

  // Answered, then the socket goes away and a new one retries.
  const before = await connect(t, server, userId)
  const original = await before.sendMessage(frame)
  await before.close()
  const after = await connect(t, server, userId)
  t.match(await after.sendMessage(frame), sameMessage(original))

  // Not answered: the network drops right after the frame leaves, and the retry decides.
  const lost = { clientMsgId: uniqueId('lost'), content: text('did this arrive?') }
  const dropping = await connect(t, server, userId)
  dropping.send({ type: 'send', ...lost })
  await dropping.terminate()
  const rescued = await after.sendMessage(lost)
  t.match(rescued, {
    type: 'sent',
    clientMsgId: lost.clientMsgId,
    conversationId: original.conversationId,
  })
  t.match(await after.sendMessage(lost), sameMessage(rescued), 'a further retry agrees')

  const conversationId = String(original.conversationId)
  const history = await fetchMessages(server, { role: 'user', id: userId }, conversationId)
  const texts = history.filter((m) => m.content).map((m) => (m.content as { text: string }).text)
  t.same(texts, ['hello?', 'did this arrive?'], 'each message once in history')
  await server.close()
  t.equal((await storedSends(dataDir, conversationId, frame.clientMsgId)).length, 1)
  t.equal((await storedSends(dataDir, conversationId, lost.clientMsgId)).length, 1)
})

t.test('a retry after a server restart gets the same messageId and seq', async (t) => {
  const dataDir = dataDirFor(t)
  const userId = uniqueId('user')
  // The conversation's first message: the retry must also find the conversation it opened.
  const frame = { clientMsgId: uniqueId('retry'), content: text('first words') }

  const first = await serve(t, dataDir)
  const original = await (await connect(t, first, userId)).sendMessage(frame)
  t.equal(original.type, 'sent')
  await first.close()

  const second = await serve(t, dataDir)
  const client = await connect(t, second, userId)
  t.match(await client.sendMessage(frame), sameMessage(original))
  const conflict = await client.sendMessage({ ...frame, content: text('other words') })
  t.match(conflict, { type: 'error', code: 'conflict', clientMsgId: frame.clientMsgId })

  const conversationId = String(original.conversationId)
  const history = await fetchMessages(second, { role: 'user', id: userId }, conversationId)
  t.equal(history.filter((m) => m.content).length, 1, 'one message in history')
  await second.close()
  t.equal((await storedSends(dataDir, conversationId, frame.clientMsgId)).length, 1)
  const opened = (await storedEvents(dataDir)).filter(
    (e) => e.type === 'ConversationOpened' && (e.data as { userId: string }).userId === userId,
  )
  t.equal(opened.length, 1, 'the retry opened no second conversation')
})

t.test('two sockets sending the same clientMsgId at the same instant store it once', async (t) => {
  const dataDir = dataDirFor(t)
  const server = await serve(t, dataDir)
  const userId = uniqueId('user')
  const tab1 = await connect(t, server, userId)
  const tab2 = await connect(t, server, userId)

  // The first message races to open the conversation as well; the second names it.
  const opening = { type: 'send', clientMsgId: uniqueId('race'), content: text('first') }
  tab1.send(opening)
  tab2.send(opening)
  const [a, b] = await Promise.all([
    tab1.next((f) => f.clientMsgId === opening.clientMsgId),
    tab2.next((f) => f.clientMsgId === opening.clientMsgId),
  ])
  t.equal(a.type, 'sent')
  t.match(b, sameMessage(a), 'both sockets get the same answer for the opening message')
  const conversationId = String(a.conversationId)

  // Twenty later messages, each written by both sockets in the same tick.
  const later = Array.from({ length: 20 }, (_, i) => ({
    type: 'send',
    clientMsgId: uniqueId('race'),
    conversationId,
    content: text(`later ${i}`),
  }))
  for (const frame of later) {
    tab1.send(frame)
    tab2.send(frame)
  }
  const answers = await Promise.all(
    later.map((frame) =>
      Promise.all([
        tab1.next((f) => f.clientMsgId === frame.clientMsgId),
        tab2.next((f) => f.clientMsgId === frame.clientMsgId),
      ]),
    ),
  )
  for (const [c, d] of answers) {
    t.equal(c.type, 'sent')
    t.match(d, sameMessage(c), `both sockets get the same answer for ${String(c.clientMsgId)}`)
  }

  const history = await fetchMessages(server, { role: 'user', id: userId }, conversationId)
  t.same(
    history.filter((m) => m.content).map((m) => m.messageId),
    [a.messageId, ...answers.map(([c]) => c.messageId)],
    'history holds each message once',
  )
  await server.close()
  for (const frame of [opening, ...later]) {
    const stored = await storedSends(dataDir, conversationId, frame.clientMsgId)
    t.equal(stored.length, 1, `one event for ${frame.clientMsgId}`)
  }
  const opened = (await storedEvents(dataDir)).filter(
    (e) => e.type === 'ConversationOpened' && (e.data as { userId: string }).userId === userId,
  )
  t.equal(opened.length, 1, 'one conversation was opened')
})

t.test('the same clientMsgId with other content is refused with conflict', async (t) => {
  const dataDir = dataDirFor(t)
  const server = await serve(t, dataDir)
  const userId = uniqueId('user')
  const client = await connect(t, server, userId)
  const clientMsgId = uniqueId('key')

  const original = await client.sendMessage({ clientMsgId, content: text('one') })
  t.equal(original.type, 'sent')
  const refused = await client.sendMessage({ clientMsgId, content: text('two') })
  t.match(refused, { type: 'error', code: 'conflict', clientMsgId })
  // Equal content in another key order is the same content, so a retry, not a conflict.
  const reordered = await client.sendMessage({
    clientMsgId,
    content: { text: 'one', format: 'text' },
  })
  t.match(reordered, sameMessage(original))

  const conversationId = String(original.conversationId)
  const history = await fetchMessages(server, { role: 'user', id: userId }, conversationId)
  t.same(
    history.filter((m) => m.content).map((m) => m.content),
    [{ format: 'text', text: 'one' }],
    'the refused content is not stored',
  )
  await server.close()
  t.equal((await storedSends(dataDir, conversationId, clientMsgId)).length, 1)
})

t.test('the same clientMsgId from the other participant is a message of its own', async (t) => {
  const dataDir = dataDirFor(t)
  const server = await serve(t, dataDir)
  const { conversationId, user, agent } = await openConversation(server)
  t.teardown(() => Promise.all([user.close(), agent.close()]))
  const clientMsgId = uniqueId('shared')

  const fromUser = await user.sendMessage({ clientMsgId, conversationId, content: text('same') })
  const fromAgent = await agent.sendMessage({ clientMsgId, conversationId, content: text('same') })
  t.equal(fromUser.type, 'sent')
  t.equal(fromAgent.type, 'sent')
  t.not(fromAgent.messageId, fromUser.messageId, 'a different messageId')
  t.not(fromAgent.seq, fromUser.seq, 'a different seq')
  await server.close()
  t.equal((await storedSends(dataDir, conversationId, clientMsgId)).length, 2)
})
