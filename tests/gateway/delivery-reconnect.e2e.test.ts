import { rmSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { EVENTS_FILE } from '../../src/server'
import {
  awaitLogEvent,
  fetchMessages,
  makeDataDir,
  openConversation,
  startTestServer,
  text,
  uniqueId,
  type TestServer,
} from '../support/server'
import { isPush, TestClient, type Frame } from '../support/ws-client'

/** A server whose event log the test can watch, so it awaits events instead of sleeping. */
async function serve(t: Test, env: Record<string, string> = {}) {
  const dataDir = makeDataDir()
  const events = createSqliteEventStore({ path: join(dataDir, EVENTS_FILE) })
  const server = await startTestServer({ env, dataDir, overrides: { events } })
  t.teardown(async () => {
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  return { server, events }
}

async function connect(t: Test, server: TestServer, role: 'user' | 'agent', id: string) {
  const client = await TestClient.connect(server.wsUrl, server.token(role, id))
  t.teardown(() => client.close())
  await client.roundTrip()
  return client
}

const pushed = (client: TestClient, messageId: unknown) =>
  client.next((f) => isPush(f) && f.messageId === messageId)

t.test('every open socket of the recipient gets the push', async (t) => {
  const { server } = await serve(t)
  const { conversationId, userId, agentId, user, agent } = await openConversation(server)
  t.teardown(() => Promise.all([user.close(), agent.close()]))
  const agentTab = await connect(t, server, 'agent', agentId)
  agentTab.autoAck()
  const userTab = await connect(t, server, 'user', userId)
  userTab.autoAck()

  const question = await user.sendMessage({
    clientMsgId: uniqueId('q'),
    conversationId,
    content: text('?'),
  })
  const [onAgent, onAgentTab] = await Promise.all([
    pushed(agent, question.messageId),
    pushed(agentTab, question.messageId),
  ])
  t.match(onAgent, {
    type: 'message',
    messageId: question.messageId,
    seq: question.seq,
    content: text('?'),
  })
  t.same(onAgentTab, onAgent, "the agent's second socket gets the same frame")

  const answer = await agent.sendMessage({
    clientMsgId: uniqueId('a'),
    conversationId,
    content: text('!'),
  })
  const [onUser, onUserTab] = await Promise.all([
    pushed(user, answer.messageId),
    pushed(userTab, answer.messageId),
  ])
  t.match(onUser, { type: 'message', messageId: answer.messageId, seq: answer.seq })
  t.same(onUserTab, onUser, "the user's second socket gets the same frame")
})

t.test('a reconnecting recipient gets everything unacknowledged again, in seq order', async (t) => {
  const { server } = await serve(t)
  const { conversationId, userId, user, agent } = await openConversation(server)
  t.teardown(() => Promise.all([user.close(), agent.close()]))

  // 1. Five answers reach the user, who acknowledges the first two only.
  user.stopAutoAck()
  const say = (i: number) =>
    agent.sendMessage({
      clientMsgId: uniqueId(`answer${i}`),
      conversationId,
      content: text(`answer ${i}`),
    })
  const online: Frame[] = []
  for (let i = 1; i <= 5; i++) online.push(await say(i))
  const firstPushes = await Promise.all(online.map((m) => pushed(user, m.messageId)))
  user.ack([String(online[0].messageId), String(online[1].messageId)])
  await user.roundTrip()

  // 2. The user drops off; two more answers are written meanwhile.
  await user.terminate()
  const offline = [await say(6), await say(7)]

  // 3. Back online: the three unacknowledged and the two missed, in seq order, unchanged.
  const back = await TestClient.connect(server.wsUrl, server.token('user', userId))
  t.teardown(() => back.close())
  const expected = [...online.slice(2), ...offline]
  const last = expected[expected.length - 1]
  await pushed(back, last.messageId)
  const catchUp = back.frames.filter(isPush)
  t.same(
    catchUp.map((f) => [f.messageId, f.seq]),
    expected.map((m) => [m.messageId, m.seq]),
    'exactly the unacknowledged messages, in seq order, with their messageId and seq',
  )
  t.same(catchUp.slice(0, 3), firstPushes.slice(2), 'a re-push repeats the first push frame')

  // 4. The history after the last acknowledged seq returns the same rest.
  const rest = await fetchMessages(server, { role: 'user', id: userId }, conversationId, {
    afterSeq: Number(online[1].seq),
  })
  t.same(
    rest.map((m) => [m.messageId, m.seq]),
    expected.map((m) => [m.messageId, m.seq]),
    'history after afterSeq holds what was pushed again',
  )
  back.ack(expected.map((m) => String(m.messageId)))
  await back.roundTrip()
})

t.test('a message given up on is left to the history on reconnect', async (t) => {
  // One push only, given up 200 ms later while the user is still connected.
  const env = { PARLEY_ACK_TIMEOUT_MS: '200', PARLEY_ACK_MAX_ATTEMPTS: '1' }
  const { server, events } = await serve(t, env)
  const { conversationId, userId, user, agent } = await openConversation(server)
  t.teardown(() => Promise.all([user.close(), agent.close()]))

  // 1. The answer is pushed once, not acknowledged, and given up.
  user.stopAutoAck()
  const answer = await agent.sendMessage({
    clientMsgId: uniqueId('a'),
    conversationId,
    content: text('!'),
  })
  const abandoned = awaitLogEvent(
    events,
    'PushAbandoned',
    (e) =>
      e.type === 'PushAbandoned' &&
      (e.data as { messageId: string }).messageId === answer.messageId,
  )
  await pushed(user, answer.messageId)
  await abandoned
  await user.close()

  // 2. The user comes back: a later message arrives, and the given-up one was not pushed first.
  const back = await TestClient.connect(server.wsUrl, server.token('user', userId))
  t.teardown(() => back.close())
  back.autoAck()
  await back.roundTrip()
  const later = await agent.sendMessage({
    clientMsgId: uniqueId('b'),
    conversationId,
    content: text('…'),
  })
  await pushed(back, later.messageId)
  t.same(back.pushesOf(String(answer.messageId)), [], 'the given-up message is not pushed again')

  // 3. The history holds it, in its place.
  const history = await fetchMessages(server, { role: 'user', id: userId }, conversationId, {
    afterSeq: Number(answer.seq) - 1,
  })
  t.same(
    history.map((m) => [m.messageId, m.seq]),
    [
      [answer.messageId, answer.seq],
      [later.messageId, later.seq],
    ],
  )
})

t.test('messages written during a reconnect arrive once each, in seq order', async (t) => {
  const { server, events } = await serve(t, { PARLEY_RATE_LIMIT: '1000/s,burst=1000' })
  const { conversationId, userId, user, agent } = await openConversation(server)
  t.teardown(() => Promise.all([user.close(), agent.close()]))
  await user.roundTrip()
  await user.close()

  // Three answers while away, then the reconnect races twenty more written back to back.
  const frame = (i: number) => ({
    type: 'send',
    clientMsgId: uniqueId(`answer${i}`),
    conversationId,
    content: text(`answer ${i}`),
  })
  const away = []
  for (let i = 0; i < 3; i++) away.push(await agent.sendMessage(frame(i)))
  const racing = Array.from({ length: 20 }, (_, i) => frame(3 + i))
  const reconnecting = TestClient.connect(server.wsUrl, server.token('user', userId))
  for (const f of racing) agent.send(f)
  const back = await reconnecting
  t.teardown(() => back.close())
  back.autoAck()
  const sent = await Promise.all(
    racing.map((f) => agent.next((r) => r.clientMsgId === f.clientMsgId)),
  )

  const all = [...away, ...sent]
  await pushed(back, all[all.length - 1].messageId)
  const frames = back.frames.filter(isPush)
  const firsts = frames.filter((f, i) => frames.findIndex((g) => g.messageId === f.messageId) === i)
  t.same(
    firsts.map((f) => f.seq),
    all.map((m) => m.seq),
    'first pushes in seq order, none missing',
  )

  // No re-push is due (the ack timeout is 5 s), and every push is recorded: so one push each.
  // Pushes to one person are recorded one after another, so once the last is, all are.
  const lastId = all[all.length - 1].messageId
  await awaitLogEvent(events, 'the last MessagePushed', (e) => {
    const data = e.data as { messageId: string; recipient?: { role: string } }
    return (
      e.type === 'MessagePushed' && data.messageId === lastId && data.recipient?.role === 'user'
    )
  })
  const recorded = new Map<string, number>()
  for await (const e of events.readAll()) {
    const data = e.data as { messageId: string; recipient?: { role: string } }
    if (e.type !== 'MessagePushed' || data.recipient?.role !== 'user') continue
    recorded.set(data.messageId, (recorded.get(data.messageId) ?? 0) + 1)
  }
  t.same(
    all.map((m) => back.pushesOf(String(m.messageId)).length),
    all.map((m) => recorded.get(String(m.messageId))),
    'as many frames as recorded MessagePushed events',
  )
  t.same(
    frames.map((f) => f.seq),
    all.map((m) => m.seq),
    'each message pushed once',
  )
})
