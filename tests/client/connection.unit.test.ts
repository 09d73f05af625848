import t from 'tap'
import { reconnectDelay } from '../../src/client/backoff'
import { createClientMsgId } from '../../src/client/client-msg-id'
import { fakeToken } from './support/fake-server'
import { connect, uniqueId, world } from './support/harness'

t.test(
  'reconnect delays are full jitter below a doubling bound capped at maxDelayMs',
  async (t) => {
    const bounds = { initialDelayMs: 500, maxDelayMs: 30_000 }
    const ceilings = [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
    ceilings.forEach((ceiling, attempt) => {
      t.equal(
        reconnectDelay(attempt, bounds, () => 0),
        0,
        `attempt ${attempt}: may be 0`,
      )
      const top = reconnectDelay(attempt, bounds, () => 0.999999)
      t.ok(top < ceiling && top >= ceiling * 0.99, `attempt ${attempt}: just under ${ceiling}`)
    })
    t.equal(
      reconnectDelay(1_000, bounds, () => 0.5),
      15_000,
      'huge attempt counts stay capped',
    )
  },
)

t.test('reconnects with the jittered backoff while the server is down', async (t) => {
  const env = world()
  const randoms = [0.25, 0.5, 0.75, 1 - 1e-9, 0.1, 0.9, 0.5, 0.5]
  let next = 0
  env.server.down = true
  const user = connect(
    t,
    env,
    { role: 'user', id: uniqueId('user') },
    {
      random: () => randoms[next++ % randoms.length],
      reconnect: { initialDelayMs: 1_000, maxDelayMs: 8_000 },
    },
  )
  await env.clock.until('seven attempts', () => env.server.attempts.length >= 7, 300_000)

  const gaps = env.server.attempts.slice(1).map((at, i) => at - env.server.attempts[i])
  const ceilings = [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]
  t.same(
    gaps.slice(0, 6),
    ceilings.map((c, i) => Math.floor(randoms[i] * c)),
    'each delay is random * min(max, initial * 2^attempt)',
  )
  t.equal(user.client.status, 'reconnecting')

  env.server.down = false
  await env.clock.until('open again', () => user.client.status === 'open', 60_000)
})

t.test('stops reconnecting with status unauthorized when the token is refused', async (t) => {
  const env = world()
  const id = uniqueId('user')
  const user = connect(t, env, { role: 'user', id }, { token: fakeToken('user', id, false) })
  await env.clock.advance(120_000)

  t.equal(user.client.status, 'unauthorized')
  t.equal(env.server.attempts.length, 1, 'one attempt, no retries')
  t.same(user.statuses, ['idle', 'connecting', 'unauthorized'])
})

t.test(
  'asks a token provider again on each connection, and start() retries after unauthorized',
  async (t) => {
    const env = world()
    const id = uniqueId('agent')
    const tokens = [fakeToken('agent', id, false), fakeToken('agent', id), fakeToken('agent', id)]
    let asked = 0
    const agent = connect(t, env, { role: 'agent', id }, { token: () => tokens[asked++] })
    await env.clock.advance(10_000)
    t.equal(agent.client.status, 'unauthorized')

    agent.client.start()
    await env.clock.until('open', () => agent.client.status === 'open')
    env.server.kill('agent', id)
    await env.clock.until('open again', () => env.server.connections.length === 2)
    t.equal(asked, 3, 'one token per connection')
  },
)

t.test('sends heartbeats at the configured pace from the moment the socket opens', async (t) => {
  const env = world()
  const id = uniqueId('user')
  connect(t, env, { role: 'user', id }, { heartbeatIntervalMs: 3_000 })
  await env.clock.advance(10_000)
  const { openedAt } = env.server.connections[0]

  const beats = env.server
    .framesFrom('user', id, 'heartbeat')
    .map((f) => (f.at as number) - openedAt)
  t.same(beats, [3_000, 6_000, 9_000], 'every 3 s')
})

t.test('beats every 10 s by default and takes an unanswering socket for dead', async (t) => {
  const env = world()
  const id = uniqueId('user')
  const user = connect(t, env, { role: 'user', id })
  await env.clock.advance(1)
  await env.clock.advance(30_000)
  t.equal(env.server.framesFrom('user', id, 'heartbeat').length, 3, 'three beats in 30 s')

  env.server.muteHeartbeats = true
  await env.clock.until('a second socket', () => env.server.connections.length === 2, 30_000)
  t.ok(user.statuses.includes('reconnecting'), 'went through reconnecting')
  env.server.muteHeartbeats = false
  await env.clock.until('open', () => user.client.status === 'open')
})

t.test('closes for good: status closed, no more sockets', async (t) => {
  const env = world()
  const id = uniqueId('user')
  const user = connect(t, env, { role: 'user', id })
  await env.clock.advance(10)
  await user.client.close()
  await env.clock.advance(120_000)
  t.equal(user.client.status, 'closed')
  t.equal(env.server.connections.length, 1)
  t.equal(env.server.socketsOf('user', id).length, 0, 'the socket was closed')
  t.throws(() => user.client.start(), /closed/)
})

t.test('clientMsgIds are UUIDv7s: unique and time-ordered', async (t) => {
  const ids = Array.from({ length: 1_000 }, () => createClientMsgId())
  t.equal(new Set(ids).size, ids.length, 'no collision within one millisecond')
  t.ok(
    ids.every((id) =>
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id),
    ),
  )
  t.same([...ids].sort(), ids, 'sorted by creation')
})
