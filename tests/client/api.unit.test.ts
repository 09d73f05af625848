import t from 'tap'
import { ParleyClient } from '../../src/client/parley-client'
import type { ChatItem, ConnectionStatus } from '../../src/client/types'
import { fakeToken } from './support/fake-server'
import { connect, MemoryStorage, seqsOf, text, uniqueId, world } from './support/harness'

t.test('on() hands out the same events as the observables and unsubscribes', async (t) => {
  const env = world()
  const agentId = uniqueId('agent')
  const user = { role: 'user', id: uniqueId('user') }
  const conversationId = env.server.open(user.id, agentId)
  const agent = connect(t, env, { role: 'agent', id: agentId }, {}, false)
  const items: ChatItem[] = []
  const statuses: ConnectionStatus[] = []
  const stopItems = agent.client.on('item', (item) => items.push(item))
  agent.client.on('status', (status) => statuses.push(status))
  agent.client.start()
  await env.clock.advance(10)

  const toAgent = [{ role: 'agent', id: agentId }]
  env.server.append(conversationId, { from: user, content: text('one') }, toAgent)
  await env.clock.advance(500)
  stopItems()
  env.server.append(conversationId, { from: user, content: text('two') }, toAgent)
  await env.clock.advance(500)

  t.same(seqsOf(items, conversationId), [1], 'no more items after unsubscribing')
  t.same(seqsOf(agent.items, conversationId), [1, 2])
  t.same(statuses, ['idle', 'connecting', 'open'])
})

t.test('closeConversation() writes the close frame once a socket is open', async (t) => {
  const env = world()
  const agentId = uniqueId('agent')
  const conversationId = env.server.open(uniqueId('user'), agentId)
  const agent = connect(t, env, { role: 'agent', id: agentId }, {}, false)
  let done = false
  const closing = agent.client.closeConversation(conversationId).then(() => (done = true))
  await env.clock.advance(100)
  t.notOk(done, 'waits while there is no socket')

  agent.client.start()
  await closing
  t.match(env.server.framesFrom('agent', agentId, 'close'), [{ conversationId }])
})

t.test('an agent must name the conversation, and content must be an object', async (t) => {
  const env = world()
  const agent = connect(t, env, { role: 'agent', id: uniqueId('agent') }, {}, false)
  t.throws(() => agent.client.send({ content: text('where?') }), /conversationId/)
  t.throws(() => agent.client.send({ conversationId: 'c', content: 'hi' as never }), /content/)
  t.same(agent.pending(), [], 'nothing queued')
})

t.test('unreadable stored state is ignored and replaced', async (t) => {
  const env = world()
  const id = uniqueId('user')
  const storage = new MemoryStorage()
  storage.setItem(`parley:user:${id}`, '{"v":1,"outgoing":"garbage"')
  const user = connect(t, env, { role: 'user', id }, { storage })
  await env.clock.advance(10)
  t.equal(user.client.status, 'open', 'started anyway')
  user.client.send({ content: text('hello') })
  await env.clock.advance(10)
  const saved = JSON.parse(storage.getItem(`parley:user:${id}`)!)
  t.match(saved, { v: 1, outgoing: [], conversations: {} }, 'rewritten in the current shape')
  t.equal(Object.values(saved.conversations as object)[0].mark, 1, 'with the new mark')
})

t.test('api() asks a token provider for a fresh token once on 401', async (t) => {
  const env = world()
  const id = uniqueId('agent')
  const clientWith = (tokens: string[]) => {
    let asked = 0
    const client = new ParleyClient({
      baseUrl: 'http://fake.parley',
      token: () => tokens[Math.min(asked++, tokens.length - 1)],
      WebSocket: env.server.WebSocket,
      fetch: env.server.fetch,
      clock: env.clock,
    })
    t.teardown(() => client.close())
    return { client, asked: () => asked }
  }

  const renewed = clientWith([fakeToken('agent', id, false), fakeToken('agent', id)])
  t.same(await renewed.client.api('/v1/conversations'), { conversations: [], nextCursor: null })
  t.equal(renewed.asked(), 2, 'the refused token was replaced once')

  const refused = clientWith([fakeToken('agent', id, false)])
  await t.rejects(refused.client.api('/v1/conversations'), { code: 'unauthorized', status: 401 })
  t.equal(refused.asked(), 2, 'one fresh token, then the 401 is reported')
})

t.test('a token provider that fails at start is asked again with backoff', async (t) => {
  const env = world()
  const id = uniqueId('user')
  let asked = 0
  const user = connect(
    t,
    env,
    { role: 'user', id },
    {
      token: () => {
        asked += 1
        if (asked < 3) throw new Error('token service down')
        return fakeToken('user', id)
      },
    },
  )
  await env.clock.until('open', () => user.client.status === 'open', 60_000)
  t.equal(asked, 3)
  t.match(user.errors, [{ message: 'token service down' }, { message: 'token service down' }])
  t.ok(user.statuses.includes('reconnecting'), 'reported as reconnecting meanwhile')
})

t.test('reconnect() replaces the socket and a closed client refuses new sends', async (t) => {
  const env = world()
  const id = uniqueId('user')
  const user = connect(t, env, { role: 'user', id })
  await env.clock.advance(10)
  user.client.reconnect()
  await env.clock.until(
    'a new socket',
    () => env.server.socketsOf('user', id).length === 1 && env.server.connections.length === 2,
  )
  t.equal(user.client.status, 'open')

  await user.client.close()
  t.throws(() => user.client.send({ content: text('too late') }), { code: 'client_closed' })
})
