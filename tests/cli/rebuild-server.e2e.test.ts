import t from 'tap'
import { run } from '../../src/cli/main'
import { seedLog } from '../support/seed-log'
import { fetchMessages, openConversation, text, uniqueId } from '../support/server'
import { spawnServer } from '../support/spawn-server'

/** Runs `parley ...args` in this process, beside the spawned server, and keeps what it printed. */
async function parley(args: string[], dataDir: string) {
  let out = ''
  let err = ''
  const io = {
    out: (chunk: string) => void (out += chunk),
    err: (chunk: string) => void (err += chunk),
    env: { PARLEY_DATA_DIR: dataDir },
  }
  const code = await run(['node', 'parley', ...args], io)
  return { code, out, err }
}

t.test('rebuild and verify beside a running server process', async (t) => {
  const dataDir = t.testdir()
  seedLog({ dir: dataDir, events: 2000, seed: 21 })
  // The user writes as fast as answers come back, and the test's sockets send no heartbeats.
  const env = {
    PARLEY_RATE_LIMIT: '10000/s,burst=10000',
    PARLEY_OFFLINE_AFTER_MS: '600000',
    PARLEY_LEAVE_AFTER_MS: '1200000',
  }
  const server = await spawnServer({ dataDir, env })
  t.teardown(() => server.kill())
  const chat = await openConversation(server)
  t.teardown(async () => {
    await chat.user.close()
    await chat.agent.close()
  })
  const say = (label: string) =>
    chat.user.sendMessage({
      clientMsgId: uniqueId(label),
      conversationId: chat.conversationId,
      content: text(label),
    })

  // 1. The rebuild switches over while the server keeps storing and projecting messages.
  const rebuilding = parley(['rebuild'], dataDir)
  let done = false
  void rebuilding.then(() => (done = true))
  const during: string[] = []
  while (!done) during.push(String((await say('during')).type))
  const rebuilt = await rebuilding

  // 2. The server's runners notice the switch and go on from the new checkpoints.
  const last = await say('after')
  const history = await fetchMessages(
    server,
    { role: 'user', id: chat.userId },
    chat.conversationId,
  )
  const seqs = history.map((entry) => entry.seq)

  // 3. And the live read models match a fresh replay at the same position.
  const verified = await parley(['verify'], dataDir)

  t.equal(rebuilt.code, 0, `rebuild exits 0:\n${rebuilt.err}`)
  t.ok(
    during.length > 0 && during.every((type) => type === 'sent'),
    `${during.length} sent during it`,
  )
  t.equal(seqs[seqs.length - 1], last.seq, 'the message sent after the switch is in the history')
  t.same(
    seqs,
    Array.from({ length: seqs.length }, (_, i) => i + 1),
    'every seq once, in order',
  )
  t.match(server.output(), 'read model switched over, following from its new checkpoint')
  t.equal(verified.code, 0, `verify exits 0:\n${verified.out}`)
  t.equal((verified.out.match(/: equal \(/g) ?? []).length, 5)
})
