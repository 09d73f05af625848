import t, { type Test } from 'tap'
import { startTestServer, uniqueId, type TestServer } from '../support/server'
import { TestClient, waitUntil, type Frame } from '../support/ws-client'

const text = (s: string) => ({ format: 'text', text: s })
const notice = (event: string, conversationId: string) => (f: Frame) =>
  f.type === 'system' && f.event === event && f.conversationId === conversationId
const anError = (f: Frame) => f.type === 'error'

async function givenServer(t: Test, env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startTestServer({ env })
  t.teardown(() => server.close())
  return server
}

async function connect(
  t: Test,
  server: TestServer,
  role: 'user' | 'agent',
  id: string,
  seats?: number,
) {
  const client = await TestClient.connect(server.wsUrl, server.token(role, id, seats))
  t.teardown(() => client.close())
  return client
}

/** A text message; without a conversationId a user's goes to their current conversation. */
async function send(client: TestClient, body: string, conversationId?: string): Promise<Frame> {
  const clientMsgId = uniqueId('c')
  return client.sendMessage({
    clientMsgId,
    content: text(body),
    ...(conversationId && { conversationId }),
  })
}

async function history(server: TestServer, conversationId: string) {
  const token = server.token('admin', 'auditor')
  const res = await fetch(`${server.httpUrl}/v1/conversations/${conversationId}/messages`, {
    headers: { authorization: `Bearer ${token}` },
  })
  if (res.status !== 200) throw new Error(`history of ${conversationId}: ${res.status}`)
  return ((await res.json()) as { messages: { messageId: string; seq: number }[] }).messages
}

async function conversationsOf(server: TestServer, userId: string) {
  const res = await fetch(`${server.httpUrl}/v1/conversations`, {
    headers: { authorization: `Bearer ${server.token('user', userId)}` },
  })
  return ((await res.json()) as { conversations: { conversationId: string; status: string }[] })
    .conversations
}

/**
 * An agent with one seat and a user in an open conversation, connected before the test's bad
 * input. `exchange` checks at the end that both still talk both ways; it also keeps the agent's
 * only seat taken, so the test's own conversations go to the test's own agents or wait.
 */
async function givenBystanders(t: Test, server: TestServer) {
  const agent = await connect(t, server, 'agent', uniqueId('bystander-agent'), 1)
  const user = await connect(t, server, 'user', uniqueId('bystander-user'))
  const opened = await send(user, 'hello')
  const conversationId = String(opened.conversationId)
  await agent.next(notice('assigned', conversationId))

  return async function exchange(): Promise<void> {
    t.notOk(agent.closed ?? user.closed, 'the bystanders are still connected')
    const question = await send(user, 'still there?')
    t.equal(question.type, 'sent', 'the bystander user can still send')
    const got = await agent.next((f) => f.type === 'message' && f.messageId === question.messageId)
    t.match(got.content, text('still there?'), 'and the agent gets it')
    const answer = await send(agent, 'yes', conversationId)
    t.equal(answer.type, 'sent', 'the bystander agent can still answer')
    await user.next((f) => f.type === 'message' && f.messageId === answer.messageId)
  }
}

t.test(
  'answers non-JSON, unknown types and missing fields with bad_frame and stays usable',
  async (t) => {
    const server = await givenServer(t)
    const bystanders = await givenBystanders(t, server)
    const client = await connect(t, server, 'user', uniqueId('user'))
    const frames = [
      'not json at all',
      '{"type":"send",',
      '[1,2,3]',
      '"send"',
      'null',
      '{"no":"type"}',
      '{"type":"teleport"}',
      '{"type":7}',
      JSON.stringify({ type: 'send', content: text('no clientMsgId') }),
      JSON.stringify({ type: 'send', clientMsgId: 'bad-1' }),
      JSON.stringify({ type: 'send', clientMsgId: 'bad-2', content: 'not an object' }),
      JSON.stringify({ type: 'send', clientMsgId: '', content: text('empty id') }),
      JSON.stringify({ type: 'ack' }),
      JSON.stringify({ type: 'ack', messageIds: [] }),
      JSON.stringify({ type: 'ack', messageIds: 'm1' }),
      JSON.stringify({ type: 'send', clientMsgId: 'x'.repeat(129), content: text('long id') }),
      JSON.stringify({
        type: 'send',
        clientMsgId: 'bad-3',
        content: text('hi'),
        conversationId: 7,
      }),
      JSON.stringify({ type: 'ack', messageIds: Array.from({ length: 1001 }, (_, i) => `m${i}`) }),
      JSON.stringify({ type: 'close' }),
      JSON.stringify({ type: 'close', conversationId: '' }),
    ]

    for (const frame of frames) client.sendRaw(frame)

    for (const frame of frames) {
      const answer = await client.next(anError)
      t.equal(answer.code, 'bad_frame', frame.slice(0, 80))
    }
    const agent = await connect(t, server, 'agent', uniqueId('agent'), 1)
    const agentSend = await send(agent, 'to whom?')
    t.equal(agentSend.code, 'bad_frame', 'an agent must name the conversation')
    client.send({ type: 'heartbeat', sentBy: 'a newer client' })
    await client.next('heartbeat')
    t.pass('unknown extra fields are ignored')
    t.equal(client.closed, null, 'the socket stays open')
    const ok = await send(client, 'a good one after the bad ones')
    t.equal(ok.type, 'sent', 'a valid send afterwards works')
    t.same(
      (await history(server, String(ok.conversationId))).filter((m) => m.messageId === ok.messageId)
        .length,
      1,
    )
    await bystanders()
  },
)

t.test('answers invalid content with invalid_content and stores nothing', async (t) => {
  const server = await givenServer(t)
  const bystanders = await givenBystanders(t, server)
  const userId = uniqueId('user')
  const client = await connect(t, server, 'user', userId)
  const invalid: Record<string, unknown>[] = [
    { format: 'text', text: '' },
    { format: 'text' },
    { format: 'text', text: 'x'.repeat(5001) },
    { format: 'text', text: 'hi', extra: true },
    { format: 'smoke-signal', text: 'hi' },
    {},
    { format: 'image', url: 'ftp://example.com/a.png' },
    { format: 'order_card', orderId: 'o1' },
    { format: 'coupon', couponId: 'c1', title: 'Ten off', currency: 'euro' },
  ]

  // 1. Refused before anything exists: no conversation is opened for it.
  const first = await client.sendMessage({ clientMsgId: uniqueId('c'), content: invalid[0] })
  t.equal(first.code, 'invalid_content', 'a first message with bad content is refused')
  t.same(await conversationsOf(server, userId), [], 'and opens no conversation')

  // 2. Refused inside a conversation: its history is unchanged.
  const opened = await send(client, 'a valid question')
  const conversationId = String(opened.conversationId)
  await client.next(notice('queued', conversationId))
  const before = await history(server, conversationId)
  for (const content of invalid) {
    const clientMsgId = uniqueId('c')
    const answer = await client.sendMessage({ clientMsgId, conversationId, content })
    t.match(
      answer,
      { type: 'error', code: 'invalid_content', clientMsgId },
      JSON.stringify(content).slice(0, 60),
    )
  }
  t.same(await history(server, conversationId), before, 'nothing was stored')
  t.notOk(
    client.frames.some((f) => f.type === 'sent' && f.messageId !== opened.messageId),
    'no send was confirmed',
  )
  const ok = await send(client, 'a valid follow-up')
  t.equal(ok.type, 'sent', 'the socket stays usable')
  await bystanders()
})

t.test(
  'closes the socket with 1009 when a frame is larger than PARLEY_MAX_FRAME_BYTES',
  async (t) => {
    const server = await givenServer(t, { PARLEY_MAX_FRAME_BYTES: '2048' })
    const bystanders = await givenBystanders(t, server)
    const client = await connect(t, server, 'user', uniqueId('user'))
    const near = await send(client, 'x'.repeat(1900))
    t.equal(near.type, 'sent', 'a frame just under the limit is taken')

    client.send({ type: 'send', clientMsgId: uniqueId('c'), content: text('x'.repeat(2100)) })

    t.equal((await client.waitClosed()).code, 1009)
    await bystanders()
  },
)

t.test('closes the socket with 1007 on a text frame that is not UTF-8', async (t) => {
  const server = await givenServer(t)
  const bystanders = await givenBystanders(t, server)
  const client = await connect(t, server, 'user', uniqueId('user'))

  client.sendRaw(Buffer.from([0xff, 0xfe]), { binary: false })

  t.equal((await client.waitClosed()).code, 1007)
  await bystanders()
})

t.test('answers a binary frame with bad_frame and stays usable', async (t) => {
  const server = await givenServer(t)
  const bystanders = await givenBystanders(t, server)
  const client = await connect(t, server, 'user', uniqueId('user'))
  const frame = { type: 'send', clientMsgId: uniqueId('c'), content: text('as binary') }

  client.sendRaw(Buffer.from(JSON.stringify(frame)), { binary: true })

  t.match(await client.next(anError), { code: 'bad_frame' })
  t.notOk(
    client.frames.some((f) => f.type === 'sent'),
    'the binary send was not stored',
  )
  const ok = await send(client, 'as text')
  t.equal(ok.type, 'sent', 'the same send as text works')
  await bystanders()
})

t.test('refuses a send into another user’s conversation with forbidden', async (t) => {
  const server = await givenServer(t)
  const bystanders = await givenBystanders(t, server)
  const owner = await connect(t, server, 'user', uniqueId('user'))
  const intruder = await connect(t, server, 'user', uniqueId('user'))
  const admin = await TestClient.connect(server.wsUrl, server.token('admin', uniqueId('admin')))
  t.teardown(() => admin.close())
  const opened = await send(owner, 'mine')
  const conversationId = String(opened.conversationId)
  await owner.next(notice('queued', conversationId))
  const before = await history(server, conversationId)

  const intruded = await send(intruder, 'not yours', conversationId)
  const byAdmin = await send(admin, 'admins do not write', conversationId)

  t.match(intruded, { type: 'error', code: 'forbidden' }, 'another user is refused')
  t.match(byAdmin, { type: 'error', code: 'forbidden' }, 'an admin is refused')
  t.same(await history(server, conversationId), before, 'nothing was stored')
  t.notOk(
    owner.frames.some((f) => f.type === 'message'),
    'the owner got nothing',
  )
  await bystanders()
})

t.test(
  'refuses an agent’s send into a conversation not assigned to them with forbidden',
  async (t) => {
    const server = await givenServer(t)
    const bystanders = await givenBystanders(t, server)
    const assignedAgent = await connect(t, server, 'agent', uniqueId('agent'), 1)
    const user = await connect(t, server, 'user', uniqueId('user'))
    const opened = await send(user, 'help')
    const conversationId = String(opened.conversationId)
    await assignedAgent.next(notice('assigned', conversationId))
    const otherAgent = await connect(t, server, 'agent', uniqueId('agent'), 1)
    const before = await history(server, conversationId)

    const answer = await send(otherAgent, 'I am not yours', conversationId)

    t.match(answer, { type: 'error', code: 'forbidden' })
    t.same(await history(server, conversationId), before, 'nothing was stored')
    const fine = await send(assignedAgent, 'I am yours', conversationId)
    t.equal(fine.type, 'sent', 'the assigned agent still can')
    await bystanders()
  },
)

t.test(
  'ignores an acknowledgement of someone else’s message: its recipient still gets re-pushes',
  async (t) => {
    const server = await givenServer(t, { PARLEY_ACK_TIMEOUT_MS: '200' })
    const bystanders = await givenBystanders(t, server)
    const agent = await connect(t, server, 'agent', uniqueId('agent'), 1)
    const user = await connect(t, server, 'user', uniqueId('user'))
    const stranger = await connect(t, server, 'user', uniqueId('user'))
    const opened = await send(user, 'help')
    const conversationId = String(opened.conversationId)
    await agent.next(notice('assigned', conversationId))
    const reply = await send(agent, 'on it', conversationId)
    const pushOfReply = (f: Frame) => f.type === 'message' && f.messageId === reply.messageId
    const firstPush = await user.next(pushOfReply)

    // The sender and a stranger both acknowledge the user's message; each socket answers frames
    // in order, so once their heartbeats come back the acknowledgements have been handled.
    for (const other of [stranger, agent]) {
      other.send({ type: 'ack', messageIds: [reply.messageId] })
      other.send({ type: 'heartbeat' })
      await other.next('heartbeat')
    }
    const handledAt = user.frames.length
    const rePush = await user.next((f) => pushOfReply(f) && user.frames.indexOf(f) >= handledAt)

    t.equal(rePush.messageId, firstPush.messageId, 'the recipient gets it again, same id')
    t.equal(rePush.seq, firstPush.seq, 'and same seq')
    t.notOk(
      stranger.frames.some((f) => f.type === 'error'),
      'the stranger is not told anything',
    )
    await bystanders()
  },
)

t.test('answers frames beyond PARLEY_RATE_LIMIT with rate_limited', async (t) => {
  const server = await givenServer(t, { PARLEY_RATE_LIMIT: '5/s,burst=10' })
  const bystanders = await givenBystanders(t, server)
  const client = await connect(t, server, 'user', uniqueId('user'))
  const ids = Array.from({ length: 200 }, () => uniqueId('flood'))

  for (const clientMsgId of ids)
    client.send({ type: 'send', clientMsgId, content: text(clientMsgId) })

  const answers = await Promise.all(
    ids.map((id) =>
      client.next((f) => (f.type === 'sent' || f.type === 'error') && f.clientMsgId === id),
    ),
  )
  const accepted = answers.filter((f) => f.type === 'sent')
  const limited = answers.filter((f) => f.type === 'error' && f.code === 'rate_limited')
  t.equal(accepted.length + limited.length, 200, 'every frame is answered: stored or rate_limited')
  t.ok(
    accepted.length >= 10 && accepted.length <= 12,
    `the burst gets through (${accepted.length})`,
  )
  const conversationId = String(accepted[0].conversationId)
  const stored = (await history(server, conversationId)).filter((m) => 'content' in m)
  t.same(
    stored.map((m) => m.messageId).sort(),
    accepted.map((f) => String(f.messageId)).sort(),
    'exactly the accepted messages are stored, none of the refused',
  )
  t.equal(client.closed, null, 'the flood does not close the socket')
  await waitUntil(async () => {
    client.send({ type: 'heartbeat' })
    const reply = await client.next((f) => f.type === 'heartbeat' || f.code === 'rate_limited')
    return reply.type === 'heartbeat'
  }, 'the bucket refills and the socket is served again')
  await bystanders()
})

t.test('answers closing a conversation that does not exist with not_found', async (t) => {
  const server = await givenServer(t)
  const bystanders = await givenBystanders(t, server)
  const agent = await connect(t, server, 'agent', uniqueId('agent'), 1)
  const admin = await TestClient.connect(server.wsUrl, server.token('admin', uniqueId('admin')))
  t.teardown(() => admin.close())

  for (const client of [agent, admin]) {
    client.send({ type: 'close', conversationId: uniqueId('no-such-conversation') })
    t.match(await client.next(anError), { code: 'not_found' })
  }
  await bystanders()
})

t.test(
  'refuses a close from the user or from an agent it is not assigned to with forbidden',
  async (t) => {
    const server = await givenServer(t)
    const bystanders = await givenBystanders(t, server)
    const agent = await connect(t, server, 'agent', uniqueId('agent'), 1)
    const userId = uniqueId('user')
    const user = await connect(t, server, 'user', userId)
    const opened = await send(user, 'help')
    const conversationId = String(opened.conversationId)
    await agent.next(notice('assigned', conversationId))
    const otherAgent = await connect(t, server, 'agent', uniqueId('agent'), 1)

    for (const client of [user, otherAgent]) {
      client.send({ type: 'close', conversationId })
      t.match(await client.next(anError), { code: 'forbidden' })
    }

    t.match(
      await conversationsOf(server, userId),
      [{ conversationId, status: 'open' }],
      'still open',
    )
    t.notOk(user.frames.some(notice('closed', conversationId)), 'no one was told it closed')
    await bystanders()
  },
)

t.test('echoes a clientMsgId of up to 128 code points in errors about its frame', async (t) => {
  const server = await givenServer(t, { PARLEY_RATE_LIMIT: '5/s,burst=5' })
  const bystanders = await givenBystanders(t, server)
  const client = await connect(t, server, 'user', uniqueId('user'))
  // 122 code points, 242 UTF-16 code units: within the documented limit of 128 characters.
  const wide = (tag: string) => `${tag}-${'\u{1F600}'.repeat(120)}`

  const accepted = await client.sendMessage({ clientMsgId: wide('a'), content: text('hi') })
  t.equal(accepted.type, 'sent', 'the schema takes such a clientMsgId')
  client.send({ type: 'send', clientMsgId: wide('b') })
  t.match(await client.next(anError), { code: 'bad_frame', clientMsgId: wide('b') })
  const flood = Array.from({ length: 10 }, (_, i) => wide(`flood${i}`))
  for (const id of flood) client.send({ type: 'send', clientMsgId: id, content: text('x') })
  const limited = await client.next((f) => f.code === 'rate_limited')
  t.ok(
    typeof limited.clientMsgId === 'string' && flood.includes(limited.clientMsgId),
    'a rate_limited error names the send it refused',
  )
  await bystanders()
})

t.test('answers a send into a closed conversation with conversation_closed', async (t) => {
  const server = await givenServer(t)
  const bystanders = await givenBystanders(t, server)
  const agent = await connect(t, server, 'agent', uniqueId('agent'), 1)
  const user = await connect(t, server, 'user', uniqueId('user'))
  const opened = await send(user, 'help')
  const conversationId = String(opened.conversationId)
  await agent.next(notice('assigned', conversationId))
  agent.send({ type: 'close', conversationId })
  await user.next(notice('closed', conversationId))
  const before = await history(server, conversationId)

  const late = await send(user, 'one more thing', conversationId)
  const lateAgent = await send(agent, 'bye', conversationId)

  t.match(late, { type: 'error', code: 'conversation_closed' }, 'the user is told it closed')
  t.match(lateAgent, { type: 'error', code: 'conversation_closed' }, 'and so is the agent')
  t.same(await history(server, conversationId), before, 'nothing was stored')
  const fresh = await send(user, 'a new question')
  t.equal(fresh.type, 'sent', 'without an id the user opens a new conversation')
  t.not(fresh.conversationId, conversationId)
  await bystanders()
})
