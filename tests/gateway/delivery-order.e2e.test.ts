import t, { type Test } from 'tap'
import {
  fetchMessages,
  openConversation,
  startTestServer,
  text,
  uniqueId,
  type TestServer,
} from '../support/server'
import { isPush, TestClient, type Frame } from '../support/ws-client'

// Frames back to back, plus the recipients' acks, would trip the default rate limit.
const env = { PARLEY_RATE_LIMIT: '1000/s,burst=1000' }

async function serve(t: Test): Promise<TestServer> {
  const server = await startTestServer({ env })
  t.teardown(() => server.close())
  return server
}

/** Sends every frame at once, without awaiting, and returns the `sent` frames in send order. */
async function sendBackToBack(
  client: TestClient,
  frames: Record<string, unknown>[],
): Promise<Frame[]> {
  for (const frame of frames) client.send({ type: 'send', ...frame })
  const replies = await Promise.all(
    frames.map((frame) => client.next((f) => f.clientMsgId === frame.clientMsgId)),
  )
  for (const reply of replies) if (reply.type !== 'sent') throw new Error(JSON.stringify(reply))
  return replies
}

/** The seq of each message's first push to this client, in arrival order. */
function firstPushSeqs(client: TestClient, conversationId: string): number[] {
  const seen = new Set<string>()
  const seqs: number[] = []
  for (const f of client.frames) {
    if (!isPush(f) || f.conversationId !== conversationId || seen.has(f.messageId)) continue
    seen.add(f.messageId)
    seqs.push(f.seq)
  }
  return seqs
}

const ascending = (xs: number[]): boolean => xs.every((x, i) => i === 0 || xs[i - 1] < x)
const oneToN = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1)

t.test('fifty frames sent back to back on one socket take consecutive seqs', async (t) => {
  const server = await serve(t)
  const { conversationId, userId, user, agent } = await openConversation(server)
  t.teardown(() => Promise.all([user.close(), agent.close()]))
  const before = (await fetchMessages(server, { role: 'user', id: userId }, conversationId)).length

  const frames = Array.from({ length: 50 }, (_, i) => ({
    clientMsgId: uniqueId(`burst${i}`),
    conversationId,
    content: text(`burst ${i}`),
  }))
  const sent = await sendBackToBack(user, frames)
  t.same(
    sent.map((f) => f.seq),
    sent.map((_, i) => before + 1 + i),
    'seqs follow the send order with no gap',
  )

  // The agent's first push of each of them comes in seq order.
  const last = sent[sent.length - 1]
  await agent.next((f) => f.type === 'message' && f.messageId === last.messageId)
  const pushed = firstPushSeqs(agent, conversationId)
  t.ok(ascending(pushed), `first pushes in seq order: ${pushed.join(',')}`)
  t.same(
    pushed.slice(-50),
    sent.map((f) => f.seq),
    'every message reached the agent once first',
  )

  // Pushes to one recipient are queued in order, so once a later message has arrived any
  // duplicate of the fifty would have too; the ack timeout (5 s) is far from due.
  const marker = await user.sendMessage({
    clientMsgId: uniqueId('marker'),
    conversationId,
    content: text('end'),
  })
  await agent.next((f) => f.type === 'message' && f.messageId === marker.messageId)
  t.same(
    sent.map((f) => agent.pushesOf(String(f.messageId)).length),
    sent.map(() => 1),
    'each message was pushed to the agent exactly once',
  )

  const history = await fetchMessages(server, { role: 'user', id: userId }, conversationId)
  t.same(
    history.map((m) => m.seq),
    oneToN(before + 51),
    'the timeline has no gap',
  )
})

t.test('seqs rise without gaps when both sides write at the same time', async (t) => {
  const server = await serve(t)
  const { conversationId, userId, user, agent } = await openConversation(server)
  t.teardown(() => Promise.all([user.close(), agent.close()]))

  const burst = (who: string) =>
    Array.from({ length: 25 }, (_, i) => ({
      clientMsgId: uniqueId(`${who}${i}`),
      conversationId,
      content: text(`${who} ${i}`),
    }))
  const [fromUser, fromAgent] = await Promise.all([
    sendBackToBack(user, burst('user')),
    sendBackToBack(agent, burst('agent')),
  ])
  t.ok(ascending(fromUser.map((f) => Number(f.seq))), "the user's seqs follow the user's order")
  t.ok(ascending(fromAgent.map((f) => Number(f.seq))), "the agent's seqs follow the agent's order")

  const history = await fetchMessages(server, { role: 'user', id: userId }, conversationId)
  t.same(
    history.map((m) => m.seq),
    oneToN(history.length),
    'one timeline without gaps',
  )
  const seqOf = new Map(history.map((m) => [m.messageId, m.seq]))
  const both = [...fromUser, ...fromAgent]
  t.same(
    both.map((f) => seqOf.get(String(f.messageId))),
    both.map((f) => f.seq),
    'history has every message at the seq its sender was told',
  )

  // Each side's first pushes of the other's messages come in seq order.
  const lastOf = (frames: Frame[]) => frames[frames.length - 1].messageId
  await agent.next((f) => f.type === 'message' && f.messageId === lastOf(fromUser))
  await user.next((f) => f.type === 'message' && f.messageId === lastOf(fromAgent))
  t.ok(
    ascending(firstPushSeqs(agent, conversationId)),
    'the agent got its first pushes in seq order',
  )
  t.ok(
    ascending(firstPushSeqs(user, conversationId)),
    'the user got their first pushes in seq order',
  )
})

t.test('each conversation counts its own seqs from one', async (t) => {
  const server = await serve(t)
  const agentId = uniqueId('agent')
  const agent = await TestClient.connect(server.wsUrl, server.token('agent', agentId, 2))
  agent.autoAck()
  t.teardown(() => agent.close())
  await agent.roundTrip()

  const users = await Promise.all(
    [uniqueId('user'), uniqueId('user')].map(async (id) => {
      const client = await TestClient.connect(server.wsUrl, server.token('user', id))
      client.autoAck()
      t.teardown(() => client.close())
      return { id, client }
    }),
  )
  const sends = await Promise.all(
    users.map(({ id, client }) =>
      sendBackToBack(
        client,
        Array.from({ length: 10 }, (_, i) => ({
          clientMsgId: uniqueId(`${id}-${i}`),
          content: text(`${i}`),
        })),
      ),
    ),
  )

  for (const [i, { id }] of users.entries()) {
    const conversationId = String(sends[i][0].conversationId)
    t.ok(
      sends[i].every((f) => f.conversationId === conversationId),
      'one conversation per user',
    )
    const history = await fetchMessages(server, { role: 'user', id }, conversationId)
    t.same(
      history.map((m) => m.seq),
      oneToN(history.length),
      `conversation ${i + 1} has seqs 1..n`,
    )
    t.ok(
      ascending(sends[i].map((f) => Number(f.seq))),
      `user ${i + 1}'s seqs follow the send order`,
    )
  }
  t.not(sends[0][0].conversationId, sends[1][0].conversationId)
})
