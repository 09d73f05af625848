import { rmSync } from 'node:fs'
import t, { type Test } from 'tap'
import { fetchMessages, makeDataDir, text, uniqueId } from '../support/server'
import { spawnServer, type SpawnedServer } from '../support/spawn-server'
import { TestClient, type Frame } from '../support/ws-client'

// Two child servers start per test, each through ts-node: allow for a slow, shared machine.
t.setTimeout(240_000)

// Forty frames back to back would trip the default rate limit (burst 40) with the acks added.
const env = { PARLEY_RATE_LIMIT: '1000/s,burst=1000' }

async function spawnFor(t: Test, dataDir: string): Promise<SpawnedServer> {
  const server = await spawnServer({ dataDir, env })
  t.teardown(() => server.kill())
  return server
}

t.test('every message answered sent survives a kill -9 of the server', async (t) => {
  const dataDir = makeDataDir()
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const userId = uniqueId('user')
  const first = await spawnFor(t, dataDir)

  // 1. Twenty messages, each awaited until `sent`.
  const user = await TestClient.connect(first.wsUrl, first.token('user', userId))
  const settled: Frame[] = []
  for (let i = 0; i < 20; i++) {
    const reply = await user.sendMessage({
      clientMsgId: `settled-${i}`,
      content: text(`settled ${i}`),
    })
    t.equal(reply.type, 'sent', `settled-${i} is answered sent`)
    settled.push(reply)
  }
  const conversationId = String(settled[0].conversationId)

  // 2. Twenty more back to back; the kill lands while most of them are still in flight.
  for (let i = 0; i < 20; i++) {
    user.send({ type: 'send', clientMsgId: `inflight-${i}`, content: text(`inflight ${i}`) })
  }
  await user.next((f) => f.type === 'sent' && f.clientMsgId === 'inflight-0')
  await first.kill()
  await user.waitClosed()

  // Every `sent` the client saw before the socket died is a promise the server must keep.
  const acknowledged = user.frames.filter((f) => f.type === 'sent')
  t.ok(acknowledged.length >= 21, `${acknowledged.length} sends acknowledged before the kill`)

  // 3. A new server on the same data directory has every acknowledged message, unchanged.
  const second = await spawnFor(t, dataDir)
  const history = await fetchMessages(second, { role: 'user', id: userId }, conversationId)
  const byId = new Map(history.map((m) => [m.messageId, m]))
  for (const sent of acknowledged) {
    t.match(
      byId.get(String(sent.messageId)),
      { seq: sent.seq, content: { text: String(sent.clientMsgId).replace('-', ' ') } },
      `${String(sent.clientMsgId)} is stored with its messageId and seq`,
    )
  }
  t.same(
    history.map((m) => m.seq),
    history.map((_, i) => i + 1),
    'the recovered timeline has no gap in its seqs',
  )

  // 4. The client retries what it never heard back about: nothing is stored twice or lost,
  // and what was acknowledged keeps its messageId and seq.
  const again = await TestClient.connect(second.wsUrl, second.token('user', userId))
  t.teardown(() => again.close())
  const retried = new Map<string, Frame>()
  for (const [kind, count] of [
    ['settled', 20],
    ['inflight', 20],
  ] as const) {
    for (let i = 0; i < count; i++) {
      const clientMsgId = `${kind}-${i}`
      const reply = await again.sendMessage({ clientMsgId, content: text(`${kind} ${i}`) })
      t.equal(reply.type, 'sent', `${clientMsgId} retried is answered sent`)
      retried.set(clientMsgId, reply)
    }
  }
  for (const sent of acknowledged) {
    const reply = retried.get(String(sent.clientMsgId))
    t.match(reply, { messageId: sent.messageId, seq: sent.seq, conversationId })
  }

  const after = await fetchMessages(second, { role: 'user', id: userId }, conversationId)
  const fromUser = after.filter((m) => (m.from as { role: string }).role === 'user')
  t.equal(fromUser.length, 40, 'forty messages are stored, each once')
  t.equal(new Set(fromUser.map((m) => m.messageId)).size, 40)
  t.same(
    after.map((m) => m.seq),
    after.map((_, i) => i + 1),
    'seqs continue after the crash without reuse or gap',
  )
})
