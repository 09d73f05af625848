import { rmSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { MessageAcknowledged, MessagePushed } from '../../src/domain/conversation/events'
import type { EventStore, RecordedEvent } from '../../src/infra/eventstore/port'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { EVENTS_FILE } from '../../src/server'
import {
  awaitLogEvent,
  makeDataDir,
  openConversation,
  startTestServer,
  text,
  uniqueId,
} from '../support/server'
import { isPush, TestClient } from '../support/ws-client'

const ACK_TIMEOUT_MS = 200
const env = { PARLEY_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS), PARLEY_ACK_MAX_ATTEMPTS: '3' }

function dataDirFor(t: Test): string {
  const dataDir = makeDataDir()
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  return dataDir
}

/**
 * A server on `dataDir` whose event log the test can watch, so it awaits events rather than
 * sleeping. Closed (once) at teardown, or earlier by the test.
 */
async function serve(t: Test, dataDir: string, settings: Record<string, string> = env) {
  const events = createSqliteEventStore({ path: join(dataDir, EVENTS_FILE) })
  const server = await startTestServer({ env: settings, dataDir, overrides: { events } })
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => (closing ??= server.close())
  t.teardown(close)
  return { server: { ...server, close }, events }
}

/** Matches events of one type about one message and a recipient of one role. */
const about = (type: string, messageId: unknown, role: string) => (e: RecordedEvent) => {
  const data = e.data as { messageId?: string; recipient?: { role: string } }
  return e.type === type && data.messageId === messageId && data.recipient?.role === role
}

/** Events of one type about one message and recipient role, in log order. */
async function eventsAbout<E extends RecordedEvent>(
  events: EventStore,
  type: string,
  messageId: unknown,
  role: string,
): Promise<E[]> {
  const found: E[] = []
  const match = about(type, messageId, role)
  for await (const e of events.readAll()) if (match(e)) found.push(e as E)
  return found
}

/**
 * Acknowledges every push except the message with this text. Set before that message is
 * sent: its push may reach the recipient before the sender hears `sent`.
 */
const ackAllBut = (client: TestClient, words: string) =>
  client.autoAck((f) => (f.content as { text?: string } | undefined)?.text !== words)

type Pushed = RecordedEvent<MessagePushed['data']>

/** How much earlier than its wait a re-push may reach the client: jitter of commit and socket. */
const DELIVERY_SLACK_MS = 100

t.test('re-pushes an unacknowledged message thrice with doubling waits, then stops', async (t) => {
  const { server, events } = await serve(t, dataDirFor(t))
  const { conversationId, user, agent } = await openConversation(server)
  t.teardown(() => Promise.all([user.close(), agent.close()]))

  // 1. The user acknowledges everything but this one answer.
  ackAllBut(user, 'unacknowledged')
  const answer = await agent.sendMessage({
    clientMsgId: uniqueId('a'),
    conversationId,
    content: text('unacknowledged'),
  })
  const abandoned = awaitLogEvent(
    events,
    'PushAbandoned',
    about('PushAbandoned', answer.messageId, 'user'),
    // The give-up follows three waits: on a loaded machine that can take longer than 5 s.
    15_000,
  )
  const pushes = []
  for (let i = 0; i < 3; i++) {
    pushes.push(await user.next((f) => isPush(f) && f.messageId === answer.messageId))
  }
  t.match(pushes[0], { type: 'message', messageId: answer.messageId, seq: answer.seq })
  t.same(pushes[1], pushes[0], 'the second push is the same frame')
  t.same(pushes[2], pushes[0], 'the third push is the same frame')

  // 2. Once the server has given up, a later message is the marker: a fourth push of the
  // answer, had there been one, would have been sent before it.
  t.match((await abandoned).data, { attempts: 3 })
  const marker = await agent.sendMessage({
    clientMsgId: uniqueId('m'),
    conversationId,
    content: text('.'),
  })
  await user.next((f) => isPush(f) && f.messageId === marker.messageId)
  t.equal(user.pushesOf(String(answer.messageId)).length, 3, 'pushed exactly three times')

  // 3. The waits double: recorded exactly, and seen by the client as growing gaps.
  const recorded = await eventsAbout<Pushed>(events, 'MessagePushed', answer.messageId, 'user')
  t.same(
    recorded.map((e) => [e.data.attempt, e.data.nextDueAt - e.data.pushedAt]),
    [
      [1, ACK_TIMEOUT_MS],
      [2, 2 * ACK_TIMEOUT_MS],
      [3, 4 * ACK_TIMEOUT_MS],
    ],
    'each wait is twice the one before',
  )
  t.ok(
    recorded.every((e, i) => i === 0 || e.data.pushedAt >= recorded[i - 1].data.nextDueAt),
    'no re-push before it is due',
  )
  const at = user.frames
    .map((f, i) => [f, user.receivedAt[i]] as const)
    .filter(([f]) => isPush(f) && f.messageId === answer.messageId)
    .map(([, time]) => time)
  const gaps = [at[1] - at[0], at[2] - at[1]]
  // A push is timed when it is decided but reaches the client after an fsync, whose latency
  // varies: the client's gaps are held to the recorded waits less that much slack.
  t.ok(
    gaps[0] >= ACK_TIMEOUT_MS - DELIVERY_SLACK_MS &&
      gaps[1] >= 2 * ACK_TIMEOUT_MS - DELIVERY_SLACK_MS,
    `the client sees the waits: ${gaps.join(' ms, ')} ms`,
  )
})

t.test('does not re-push an acknowledged message', async (t) => {
  // A longer wait, so the acknowledgement surely lands before a re-push would be due.
  const settings = { PARLEY_ACK_TIMEOUT_MS: '600', PARLEY_ACK_MAX_ATTEMPTS: '3' }
  const { server, events } = await serve(t, dataDirFor(t), settings)
  const { conversationId, user, agent } = await openConversation(server)
  t.teardown(() => Promise.all([user.close(), agent.close()]))
  const say = (words: string) =>
    agent.sendMessage({ clientMsgId: uniqueId('a'), conversationId, content: text(words) })

  // 1. The first answer is acknowledged on arrival; the second, sent after, never is.
  const acked = await say('acknowledged')
  const ack = await awaitLogEvent<RecordedEvent<MessageAcknowledged['data']>>(
    events,
    'MessageAcknowledged',
    about('MessageAcknowledged', acked.messageId, 'user'),
  )
  ackAllBut(user, 'never acknowledged')
  const unacked = await say('never acknowledged')

  // 2. The second answer's re-push is due after the first's would have been, so once it
  // arrives, a re-push of the first would have arrived too.
  await user.next((f) => isPush(f) && f.messageId === unacked.messageId)
  await user.next((f) => isPush(f) && f.messageId === unacked.messageId)
  const [firstPush] = await eventsAbout<Pushed>(events, 'MessagePushed', acked.messageId, 'user')
  t.ok(ack.data.at < firstPush.data.nextDueAt, 'premise: the ack was in before a re-push was due')
  t.equal(user.pushesOf(String(acked.messageId)).length, 1, 'the acknowledged message came once')
  t.equal(
    (await eventsAbout(events, 'MessagePushed', acked.messageId, 'user')).length,
    1,
    'one push recorded',
  )
  user.autoAck()
})

t.test('keeps re-pushing across a restart, counting the pushes made before it', async (t) => {
  const dataDir = dataDirFor(t)
  // Long enough that the first server shuts down before its second push is due.
  const settings = { PARLEY_ACK_TIMEOUT_MS: '500', PARLEY_ACK_MAX_ATTEMPTS: '3' }
  const first = await serve(t, dataDir, settings)
  const { conversationId, userId, agentId, user, agent } = await openConversation(first.server)

  // 1. One push before the restart, not acknowledged.
  ackAllBut(user, 'unacknowledged')
  const answer = await agent.sendMessage({
    clientMsgId: uniqueId('a'),
    conversationId,
    content: text('unacknowledged'),
  })
  const before = await user.next((f) => isPush(f) && f.messageId === answer.messageId)
  await awaitLogEvent(
    first.events,
    'the first MessagePushed',
    about('MessagePushed', answer.messageId, 'user'),
  )
  await first.server.close()
  await Promise.all([user.waitClosed(), agent.waitClosed()])

  // 2. A new server on the same data: the user comes back and gets the rest of the pushes.
  const second = await serve(t, dataDir, settings)
  const back = await TestClient.connect(second.server.wsUrl, second.server.token('user', userId))
  t.teardown(() => back.close())
  ackAllBut(back, 'unacknowledged')
  const agentBack = await TestClient.connect(
    second.server.wsUrl,
    second.server.token('agent', agentId),
  )
  agentBack.autoAck()
  t.teardown(() => agentBack.close())

  const abandoned = awaitLogEvent(
    second.events,
    'PushAbandoned',
    about('PushAbandoned', answer.messageId, 'user'),
    // The give-up follows three waits and, here, a restart: on a loaded machine that can take
    // longer than the default 5 s.
    15_000,
  )
  const after = [
    await back.next((f) => isPush(f) && f.messageId === answer.messageId),
    await back.next((f) => isPush(f) && f.messageId === answer.messageId),
  ]
  t.same(after, [before, before], 'the same frame, messageId and seq after the restart')
  t.match((await abandoned).data, { attempts: 3 }, 'given up after three pushes in all')

  const marker = await agentBack.sendMessage({
    clientMsgId: uniqueId('m'),
    conversationId,
    content: text('.'),
  })
  await back.next((f) => isPush(f) && f.messageId === marker.messageId)
  t.equal(
    back.pushesOf(String(answer.messageId)).length,
    2,
    'two pushes after the restart, no more',
  )
  const recorded = await eventsAbout<Pushed>(
    second.events,
    'MessagePushed',
    answer.messageId,
    'user',
  )
  t.same(
    recorded.map((e) => e.data.attempt),
    [1, 2, 3],
    'the count went on from the push before the restart',
  )
})
