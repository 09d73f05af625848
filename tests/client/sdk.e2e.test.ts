import t, { type Test } from 'tap'
import { firstValueFrom, merge, filter, timeout, startWith } from 'rxjs'
import WebSocket from 'ws'
import { ParleyClient } from '../../src/client/parley-client'
import type { ChatItem, WebSocketConstructor } from '../../src/client/types'
import { createTokenSigner } from '../../src/infra/auth/tokens'
import { fetchMessages, startTestServer, uniqueId, type TestServer } from '../support/server'
import { waitUntil } from '../support/ws-client'

const text = (value: string) => ({ format: 'text' as const, text: value })

/** `ws` sockets, remembered so the test can cut one as a network failure would (1006). */
function trackedWebSocket(): { WebSocket: WebSocketConstructor; sockets: WebSocket[] } {
  const sockets: WebSocket[] = []
  class Tracked extends WebSocket {
    constructor(url: string) {
      super(url)
      sockets.push(this)
    }
  }
  return { WebSocket: Tracked as unknown as WebSocketConstructor, sockets }
}

interface Side {
  client: ParleyClient
  items: ChatItem[]
  sockets: WebSocket[]
}

function side(t: Test, server: TestServer, role: 'user' | 'agent', id: string): Side {
  const { WebSocket: Ws, sockets } = trackedWebSocket()
  const client = new ParleyClient({
    baseUrl: server.httpUrl,
    token: () => server.token(role, id, role === 'agent' ? 3 : undefined),
    WebSocket: Ws,
    resendAfterMs: 1_000,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
  })
  const items: ChatItem[] = []
  client.items$.subscribe((item) => items.push(item))
  t.teardown(() => client.close())
  client.start()
  return { client, items, sockets }
}

/** Resolves once `done()` holds after some emission of the client; fails naming `what`. */
function until(what: string, s: Side, done: () => boolean, ms = 10_000): Promise<unknown> {
  const changes = merge(s.client.items$, s.client.status$, s.client.outgoing$).pipe(startWith(0))
  return firstValueFrom(
    changes.pipe(
      filter(() => done()),
      timeout({ first: ms, with: () => Promise.reject(new Error(`no ${what} within ${ms} ms`)) }),
    ),
  )
}

const texts = (items: ChatItem[]) =>
  items.filter((i) => i.kind === 'message').map((i) => (i.content as { text: string }).text)

t.test(
  'a user and an agent chat through the SDK; a dropped socket loses and repeats nothing',
  async (t) => {
    const server = await startTestServer()
    t.teardown(() => server.close())
    const agentId = uniqueId('agent')
    const userId = uniqueId('user')

    // 1. The agent is online before the user writes, so the conversation is assigned at once.
    const agent = side(t, server, 'agent', agentId)
    await until('agent socket open', agent, () => agent.client.status === 'open')
    // The socket opens before the server has recorded the connection (the agent's seats go
    // first): the agent is online once the presence view says so.
    await waitUntil(
      async () => {
        const presence = await agent.client
          .api<{ status: string }>(`/v1/presence/agent/${agentId}`)
          .catch(() => undefined)
        return presence?.status === 'online'
      },
      'the agent online in the presence view',
      10_000,
    )
    const user = side(t, server, 'user', userId)
    await until('user socket open', user, () => user.client.status === 'open')

    // 2. The user opens a conversation; the agent gets the message and answers.
    user.client.send({ content: text('u1') })
    await until('the first message at the agent', agent, () => texts(agent.items).includes('u1'))
    const conversationId = agent.items[0].conversationId
    agent.client.send({ conversationId, content: text('a1') })
    await until('the answer at the user', user, () => texts(user.items).includes('a1'))

    // 3. Mid-conversation, both sockets drop while sends are in flight, and more are sent offline.
    user.client.send({ content: text('u2') })
    user.client.send({ content: text('u3') })
    agent.client.send({ conversationId, content: text('a2') })
    user.sockets[user.sockets.length - 1].terminate()
    agent.sockets[agent.sockets.length - 1].terminate()
    user.client.send({ content: text('u4') })
    agent.client.send({ conversationId, content: text('a3') })

    // 4. Both come back on their own and everything arrives.
    const all = ['u1', 'a1', 'u2', 'u3', 'a2', 'u4', 'a3']
    const hasAll = (s: Side) => all.every((w) => texts(s.items).includes(w))
    await until('every message at the user', user, () => hasAll(user), 20_000)
    await until('every message at the agent', agent, () => hasAll(agent), 20_000)
    t.ok(user.sockets.length >= 2 && agent.sockets.length >= 2, 'both reconnected')

    // 5. The server stored each message once, and each side holds the whole timeline once.
    const history = await fetchMessages(server, { role: 'admin', id: 'ops' }, conversationId)
    const stored = history.filter((e) => e.content).map((e) => (e.content as { text: string }).text)
    t.same([...stored].sort(), [...all].sort(), 'each message stored once')
    for (const [name, s] of [
      ['user', user],
      ['agent', agent],
    ] as const) {
      await until(`${name} has the whole timeline`, s, () => s.items.length >= history.length)
      t.same(
        s.items.map((i) => i.seq),
        history.map((e) => e.seq),
        `${name}: every seq once, in order`,
      )
      t.same(
        s.items.map((i) => i.messageId),
        history.map((e) => e.messageId),
        `${name}: the same messages as the server's history`,
      )
    }
    t.same(await firstValueFrom(user.client.outgoing$), [], 'nothing left pending')
  },
)

t.test('a token the real server refuses ends in unauthorized, with no retries', async (t) => {
  const server = await startTestServer()
  t.teardown(() => server.close())
  const { WebSocket: Ws, sockets } = trackedWebSocket()
  const forged = createTokenSigner('another-secret-0123456789abcdefghijklmnopqrstuv')
  const client = new ParleyClient({
    baseUrl: server.httpUrl,
    token: forged.sign({ role: 'user', id: uniqueId('user') }),
    WebSocket: Ws,
    reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
  })
  t.teardown(() => client.close())
  const refused = firstValueFrom(
    client.status$.pipe(
      filter((s) => s === 'unauthorized'),
      timeout({ first: 10_000, with: () => Promise.reject(new Error('no unauthorized status')) }),
    ),
  )
  client.start()
  await refused
  t.equal(sockets.length, 1, 'one attempt')
})
