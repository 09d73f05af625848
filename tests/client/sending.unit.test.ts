import t from 'tap'
import { connect, MemoryStorage, seqsOf, text, uniqueId, world } from './support/harness'

const isSent = (f: { type: string }) => f.type === 'sent'

t.test(
  'resends a send whose sent frame was lost under the same key, and stores it once',
  async (t) => {
    const env = world()
    const userId = uniqueId('user')
    const user = connect(t, env, { role: 'user', id: userId }, { resendAfterMs: 5_000 })
    await env.clock.advance(10)
    env.server.dropNext(isSent)

    const out = user.client.send({ content: text('where is my order?') })
    await env.clock.advance(4_000)
    t.equal(user.pending()[0]?.state, 'pending', 'still pending before the resend timeout')
    await env.clock.until('the resend is confirmed', () => user.pending().length === 0, 10_000)

    const sends = env.server.framesFrom('user', userId, 'send')
    t.equal(sends.length, 2, 'sent twice')
    t.same(new Set(sends.map((f) => f.clientMsgId)), new Set([out.clientMsgId]), 'with one key')
    const conversationId = user.items[0].conversationId
    t.equal(env.server.stored(conversationId).length, 1, 'one message on the server')
    t.match(user.items, [{ own: true, seq: 1, content: { text: 'where is my order?' } }])
    t.equal(user.items.length, 1, 'emitted once as an own item')
  },
)

t.test(
  'a reconnect in the middle of a resend resends once more and still stores one message',
  async (t) => {
    const env = world()
    const userId = uniqueId('user')
    const user = connect(t, env, { role: 'user', id: userId }, { resendAfterMs: 5_000 })
    await env.clock.advance(10)
    env.server.dropNext(isSent)
    env.server.dropNext(isSent)

    const out = user.client.send({ content: text('hello?') })
    await env.clock.until(
      'the first resend',
      () => env.server.framesFrom('user', userId, 'send').length === 2,
    )
    env.server.kill('user', userId)
    await env.clock.until('the send is confirmed', () => user.pending().length === 0, 60_000)

    t.ok(env.server.connections.length >= 2, 'reconnected')
    const sends = env.server.framesFrom('user', userId, 'send')
    t.equal(sends.length, 3, 'first try, timed-out resend, resend after the reconnect')
    t.ok(
      sends.every((f) => f.clientMsgId === out.clientMsgId),
      'all with the same key',
    )
    t.equal(env.server.stored(user.items[0].conversationId).length, 1, 'one message stored')
    t.same(seqsOf(user.items, user.items[0].conversationId), [1])
  },
)

t.test(
  'marks a send failed after failAfterMs, and retry() sends it again with the same key',
  async (t) => {
    const env = world()
    const userId = uniqueId('user')
    const user = connect(
      t,
      env,
      { role: 'user', id: userId },
      { resendAfterMs: 2_000, failAfterMs: 9_000 },
    )
    await env.clock.advance(10)
    for (let i = 0; i < 5; i += 1) env.server.dropNext(isSent)
    // 9 s at a 2 s resend pace is exactly 5 tries: every sent lost, and none left for the retry.

    const out = user.client.send({ content: text('anyone?') })
    await env.clock.advance(8_000)
    t.equal(user.pending()[0].state, 'pending', 'pending within the bound')
    await env.clock.advance(1_500)
    t.match(user.pending(), [
      { clientMsgId: out.clientMsgId, state: 'failed', error: { code: 'send_timeout' } },
    ])
    const triesBefore = env.server.framesFrom('user', userId, 'send').length
    await env.clock.advance(20_000)
    t.equal(
      env.server.framesFrom('user', userId, 'send').length,
      triesBefore,
      'no resend once failed',
    )

    env.server.connections.length // the drops left over are consumed by the retry below
    for (let i = 0; i < 5; i += 1) env.server.dropNext(() => false)
    user.client.retry(out.clientMsgId)
    t.equal(user.pending()[0].state, 'pending', 'pending again')
    await env.clock.until(
      'the retried send is confirmed',
      () => user.pending().length === 0,
      60_000,
    )
    const keys = new Set(env.server.framesFrom('user', userId, 'send').map((f) => f.clientMsgId))
    t.same(keys, new Set([out.clientMsgId]), 'the same key throughout')
    t.equal(env.server.stored(user.items[0].conversationId).length, 1, 'one message stored')
  },
)

t.test('a final error code fails the send at once; a retryable one resends it later', async (t) => {
  const env = world()
  const agentId = uniqueId('agent')
  const conversationId = env.server.open(uniqueId('user'), agentId)
  const agent = connect(t, env, { role: 'agent', id: agentId }, { resendAfterMs: 3_000 })
  await env.clock.advance(10)
  const [socket] = env.server.socketsOf('agent', agentId)

  env.server.dropNext(isSent)
  env.server.dropNext(isSent)
  const bad = agent.client.send({ conversationId, content: text('refused') })
  await env.clock.advance(1)
  env.server.write(socket, {
    type: 'error',
    code: 'invalid_content',
    message: 'nope',
    clientMsgId: bad.clientMsgId,
  })
  const slow = agent.client.send({ conversationId, content: text('later') })
  await env.clock.advance(1)
  env.server.write(socket, {
    type: 'error',
    code: 'rate_limited',
    message: 'slow down',
    clientMsgId: slow.clientMsgId,
  })
  await env.clock.advance(1)

  t.match(agent.pending(), [
    { clientMsgId: bad.clientMsgId, state: 'failed', error: { code: 'invalid_content' } },
    { clientMsgId: slow.clientMsgId, state: 'pending' },
  ])
  t.match(agent.errors, [
    { code: 'invalid_content', clientMsgId: bad.clientMsgId },
    { code: 'rate_limited' },
  ])
  await env.clock.until('the rate-limited send is confirmed', () => agent.pending().length === 1)
  t.equal(agent.pending()[0].clientMsgId, bad.clientMsgId, 'only the refused one is left')
  agent.client.discard(bad.clientMsgId)
  t.same(agent.pending(), [], 'discarded')
})

t.test(
  'restores the pending list and the marks from storage after a reload and resends',
  async (t) => {
    const env = world()
    const storage = new MemoryStorage()
    const userId = uniqueId('user')
    const first = connect(t, env, { role: 'user', id: userId }, { storage })
    await env.clock.advance(10)
    const opened = first.client.send({ content: text('first') })
    await env.clock.until('the first send is confirmed', () => first.pending().length === 0)
    const conversationId = first.items[0].conversationId

    env.server.dropNext(isSent)
    const lost = first.client.send({ conversationId, content: text('second') })
    await env.clock.advance(100)
    t.equal(first.pending()[0]?.clientMsgId, lost.clientMsgId, 'unconfirmed when the page goes')
    await first.client.close()
    t.ok(storage.getItem(`parley:user:${userId}`), 'state stored under the default key')

    const reloaded = connect(t, env, { role: 'user', id: userId }, { storage })
    await env.clock.advance(10)
    const restored = reloaded.outgoing.find((list) => list.length > 0)
    t.match(restored, [{ clientMsgId: lost.clientMsgId, state: 'pending' }], 'restored')
    await env.clock.until('the restored send is confirmed', () => reloaded.pending().length === 0)

    t.equal(env.server.stored(conversationId).length, 2, 'two messages, no duplicate')
    t.same(
      seqsOf(reloaded.items, conversationId),
      [2],
      'only the new own item: seq 1 was delivered before',
    )
    t.not(opened.clientMsgId, lost.clientMsgId)
    const caughtUp = env.server.historyRequests.filter((r) => r.conversationId === conversationId)
    t.ok(caughtUp.length > 0, 'the reloaded client caught the conversation up')
    t.ok(
      caughtUp.every((r) => r.afterSeq >= 1),
      'from the stored contiguous mark, not from the start',
    )
  },
)

t.test(
  'a user send refused as conversation_closed on a filled-in id opens the next conversation',
  async (t) => {
    const env = world()
    const userId = uniqueId('user')
    const user = connect(t, env, { role: 'user', id: userId })
    await env.clock.advance(10)
    user.client.send({ content: text('one') })
    await env.clock.until('the first send', () => user.pending().length === 0)
    const [socket] = env.server.socketsOf('user', userId)

    env.server.dropNext(isSent)
    const next = user.client.send({ content: text('two') })
    await env.clock.advance(1)
    const [, second] = env.server.framesFrom('user', userId, 'send')
    t.equal(
      second.conversationId,
      user.items[0].conversationId,
      'the SDK named the known conversation',
    )
    env.server.write(socket, {
      type: 'error',
      code: 'conversation_closed',
      message: 'closed',
      clientMsgId: next.clientMsgId,
    })
    await env.clock.until(
      'the resend',
      () => env.server.framesFrom('user', userId, 'send').length === 3,
    )
    const third = env.server.framesFrom('user', userId, 'send')[2]
    t.equal(third.clientMsgId, next.clientMsgId, 'same key')
    t.notOk('conversationId' in third, 'without the closed conversation id')
  },
)

t.test(
  'a sent frame that arrives after the send was marked failed still confirms it',
  async (t) => {
    const env = world()
    const agentId = uniqueId('agent')
    const conversationId = env.server.open(uniqueId('user'), agentId)
    const agent = connect(
      t,
      env,
      { role: 'agent', id: agentId },
      { failAfterMs: 3_000, resendAfterMs: 60_000 },
    )
    await env.clock.advance(10)
    let late: Record<string, unknown> | undefined
    env.server.dropNext((f) => f.type === 'sent' && Boolean((late = f)))
    agent.client.send({ conversationId, content: text('slow') })
    await env.clock.advance(4_000)
    t.equal(agent.pending()[0].state, 'failed')

    env.server.write(env.server.socketsOf('agent', agentId)[0], late as { type: string })
    await env.clock.advance(10)
    t.same(agent.pending(), [], 'confirmed after all')
    t.match(agent.items, [{ own: true, seq: 1, messageId: late!.messageId }])
  },
)
