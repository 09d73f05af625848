import t, { type Test } from 'tap'
import { connect, seqsOf, text, uniqueId, world } from './support/harness'

/** An agent client with an open conversation on the fake server, and its user's identity. */
async function agentWithConversation(t: Test) {
  const env = world()
  const agentId = uniqueId('agent')
  const userId = uniqueId('user')
  const conversationId = env.server.open(userId, agentId)
  const agent = connect(t, env, { role: 'agent', id: agentId })
  await env.clock.advance(10)
  const user = { role: 'user', id: userId }
  const toAgent = [{ role: 'agent', id: agentId }]
  const say = (words: string, push = true) =>
    env.server.append(conversationId, { from: user, content: text(words) }, push ? toAgent : [])
  return { env, agent, agentId, conversationId, say, toAgent }
}

t.test('delivers a duplicated push once and acknowledges it again', async (t) => {
  const { env, agent, agentId, conversationId, say, toAgent } = await agentWithConversation(t)
  const first = say('hi')
  await env.clock.advance(1_000)
  env.server.pushTo(toAgent[0], conversationId, first)
  await env.clock.advance(1_000)

  t.same(seqsOf(agent.items, conversationId), [1], 'delivered once')
  const acks = env.server.ackedBy('agent', agentId).filter((id) => id === first.messageId)
  t.equal(acks.length, 2, 'acked after delivery, and again for the duplicate')
})

t.test('delivers pushes that arrive out of order in seq order', async (t) => {
  const { env, agent, agentId, conversationId, say, toAgent } = await agentWithConversation(t)
  const one = say('one', false)
  const two = say('two', false)
  const three = say('three', false)
  for (const entry of [three, one, two]) env.server.pushTo(toAgent[0], conversationId, entry)
  await env.clock.advance(1_000)

  t.same(seqsOf(agent.items, conversationId), [1, 2, 3])
  t.same(env.server.historyRequests, [], 'the late pushes filled the gap: no history needed')
  t.same(
    new Set(env.server.ackedBy('agent', agentId)),
    new Set([one.messageId, two.messageId, three.messageId]),
    'all acked',
  )
})

t.test(
  'fills a gap over HTTP, paging, and holds later items back until it is filled',
  async (t) => {
    const { env, agent, conversationId, say } = await agentWithConversation(t)
    const pageSize = 100
    say('seen')
    for (let i = 0; i < pageSize + 20; i += 1) say(`missed ${i}`, false)
    const release = env.server.pauseHistory()
    say('live')
    await env.clock.advance(1_000)
    t.same(seqsOf(agent.items, conversationId), [1], 'the item after the gap is held back')

    release()
    await env.clock.until('the gap is filled', () => agent.items.length === pageSize + 22)
    const expected = Array.from({ length: pageSize + 22 }, (_, i) => i + 1)
    t.same(seqsOf(agent.items, conversationId), expected, 'everything once, in seq order')
    t.match(env.server.historyRequests, [
      { conversationId, afterSeq: 1, limit: pageSize },
      { conversationId, afterSeq: 1 + pageSize, limit: pageSize },
    ])
  },
)

t.test('a live message arriving during catch-up is delivered exactly once, in order', async (t) => {
  const env = world()
  const agentId = uniqueId('agent')
  const user = { role: 'user', id: uniqueId('user') }
  const conversationId = env.server.open(user.id, agentId)
  for (const words of ['a', 'b', 'c']) {
    env.server.append(conversationId, { from: user, content: text(words) }, [])
  }
  const release = env.server.pauseHistory()
  const agent = connect(t, env, { role: 'agent', id: agentId })
  agent.client.follow(conversationId)
  await env.clock.advance(10)
  t.equal(env.server.historyRequests.length, 1, 'catch-up in flight')

  const toAgent = [{ role: 'agent', id: agentId }]
  env.server.append(conversationId, { from: user, content: text('d') }, toAgent)
  env.server.pushTo(toAgent[0], conversationId, env.server.entry(conversationId, 3))
  await env.clock.advance(100)
  t.same(agent.items, [], 'held until the catch-up answers')

  release()
  await env.clock.until('everything delivered', () => agent.items.length >= 4)
  await env.clock.advance(5_000)
  t.same(seqsOf(agent.items, conversationId), [1, 2, 3, 4], 'once each, in order')
  t.same(
    agent.items.map((i) => i.content),
    ['a', 'b', 'c', 'd'].map(text),
  )
})

t.test('on reconnect, catches up from the contiguous mark, not the newest seq seen', async (t) => {
  const env = world()
  const agentId = uniqueId('agent')
  const user = { role: 'user', id: uniqueId('user') }
  const conversationId = env.server.open(user.id, agentId)
  // A long gap delay, so the only history read is the catch-up after the reconnect.
  const agent = connect(t, env, { role: 'agent', id: agentId }, { gapFillDelayMs: 600_000 })
  await env.clock.advance(10)
  const toAgent = [{ role: 'agent', id: agentId }]
  const say = (words: string, push: boolean) =>
    env.server.append(conversationId, { from: user, content: text(words) }, push ? toAgent : [])
  say('one', true)
  say('two', false)
  say('three', true)
  await env.clock.advance(1_000)
  t.same(seqsOf(agent.items, conversationId), [1], 'three waits behind the gap')
  t.same(env.server.historyRequests, [], 'no history read yet')

  env.server.kill('agent', agentId)
  await env.clock.until('the gap is filled', () => agent.items.length === 3)
  t.equal(env.server.connections.length, 2, 'reconnected')
  t.match(env.server.historyRequests[0], { conversationId, afterSeq: 1 }, 'read after seq 1')
  t.same(seqsOf(agent.items, conversationId), [1, 2, 3])
})

t.test('a confirmed own send is an own item at its seq between the other side’s', async (t) => {
  const { env, agent, conversationId, say } = await agentWithConversation(t)
  say('question')
  await env.clock.advance(500)
  agent.client.send({ conversationId, content: text('answer') })
  await env.clock.advance(500)
  say('thanks')
  await env.clock.advance(500)

  t.same(seqsOf(agent.items, conversationId), [1, 2, 3])
  t.same(
    agent.items.map((i) => i.own),
    [false, true, false],
  )
  t.same(agent.pending(), [], 'the confirmed send left outgoing$')
  t.same(env.server.historyRequests, [], 'no gap: the own seq counted')
})

t.test('acknowledges in batches no larger than the protocol allows', async (t) => {
  const { env, agent, agentId, say } = await agentWithConversation(t)
  for (let i = 0; i < 1_500; i += 1) say(`m${i}`)
  await env.clock.advance(1_000)

  t.equal(agent.items.length, 1_500)
  const frames = env.server.framesFrom('agent', agentId, 'ack')
  t.ok(frames.length >= 2, 'split into several frames')
  t.ok(
    frames.every((f) => (f.messageIds as string[]).length <= 1_000),
    'at most 1000 ids each',
  )
  t.equal(new Set(env.server.ackedBy('agent', agentId)).size, 1_500, 'every item acked')
})

t.test('a gap the server refuses to fill is released in seq order and reported', async (t) => {
  const env = world()
  const agentId = uniqueId('agent')
  const user = { role: 'user', id: uniqueId('user') }
  // The conversation now belongs to another agent: history answers 403 to this one.
  const conversationId = env.server.open(user.id, uniqueId('other-agent'))
  const agent = connect(t, env, { role: 'agent', id: agentId })
  await env.clock.advance(10)
  const me = { role: 'agent', id: agentId }
  env.server.append(conversationId, { from: user, content: text('one') }, [])
  env.server.append(conversationId, { from: user, content: text('three') }, [])
  env.server.append(conversationId, { from: user, content: text('two') }, [])
  env.server.pushTo(me, conversationId, env.server.entry(conversationId, 3))
  env.server.pushTo(me, conversationId, env.server.entry(conversationId, 2))
  await env.clock.advance(5_000)

  t.same(seqsOf(agent.items, conversationId), [2, 3], 'held items delivered in seq order')
  t.match(agent.errors, [{ code: 'gap_unfilled', status: 403, conversationId }])
  t.equal(env.server.historyRequests.length, 1, 'asked once, no retry loop on a refusal')
})

t.test('a user learns the conversation from a push and names it on the next send', async (t) => {
  const env = world()
  const userId = uniqueId('user')
  const conversationId = env.server.open(userId, uniqueId('agent'))
  const user = connect(t, env, { role: 'user', id: userId })
  await env.clock.advance(10)
  env.server.append(conversationId, { event: 'queued', position: 1 }, [
    { role: 'user', id: userId },
  ])
  await env.clock.advance(500)
  t.match(user.items, [{ kind: 'system', event: 'queued', position: 1, seq: 1, own: false }])

  user.client.send({ content: text('still there?') })
  await env.clock.advance(500)
  const [send] = env.server.framesFrom('user', userId, 'send')
  t.equal(send.conversationId, conversationId, 'named, so a retry cannot open a new one')

  env.server.append(conversationId, { event: 'closed', reason: 'agent_closed' }, [
    { role: 'user', id: userId },
  ])
  await env.clock.advance(500)
  user.client.send({ content: text('new question') })
  await env.clock.advance(500)
  const [, next] = env.server.framesFrom('user', userId, 'send')
  t.notOk('conversationId' in next, 'after the closed notice, a send opens the next conversation')
})

t.test('a history read that hangs is aborted after requestTimeoutMs and tried again', async (t) => {
  const env = world()
  const agentId = uniqueId('agent')
  const user = { role: 'user', id: uniqueId('user') }
  const conversationId = env.server.open(user.id, agentId)
  env.server.append(conversationId, { from: user, content: text('old') }, [])
  const release = env.server.pauseHistory()
  const agent = connect(t, env, { role: 'agent', id: agentId }, { requestTimeoutMs: 2_000 })
  agent.client.follow(conversationId)
  await env.clock.advance(2_500)
  t.match(agent.errors, [{ code: 'network_error', message: 'request timed out' }])

  release()
  await env.clock.until('the retry delivers', () => agent.items.length === 1)
  t.ok(env.server.historyRequests.length >= 2, 'asked again')
})
