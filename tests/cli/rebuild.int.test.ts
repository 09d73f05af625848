import { join } from 'node:path'
import { Writable } from 'node:stream'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { EXIT_FAILURE, EXIT_USAGE, run } from '../../src/cli/main'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { createSqliteReadModelStore } from '../../src/infra/readmodel/sqlite'
import { allProjections } from '../../src/projections/readmodels'
import { READ_MODELS_FILE } from '../../src/server'
import { dump, rebuild as buildFromScratch } from '../projections/harness'
import { seedLog } from '../support/seed-log'
import { openConversation, startTestServer, text, uniqueId } from '../support/server'

/** Runs `parley ...args` in-process on `dataDir` and keeps what it printed. */
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

/** A data directory holding a seeded log of `events` events. */
function givenSeededDir(t: Test, events: number, seed = 1): string {
  const dir = t.testdir()
  seedLog({ dir, events, seed })
  return dir
}

/** The read models in the file as they are, and as a build from scratch of the log makes them. */
async function liveAndScratch(t: Test, dataDir: string) {
  const events = createSqliteEventStore({ path: join(dataDir, 'events.sqlite') })
  const readModels = createSqliteReadModelStore({ path: join(dataDir, READ_MODELS_FILE) })
  t.teardown(async () => {
    await events.close()
    await readModels.close()
  })
  return { live: await dump(readModels), scratch: await buildFromScratch(t, events) }
}

function generations(dataDir: string): Record<string, number> {
  const db = new Database(join(dataDir, READ_MODELS_FILE), { readonly: true })
  try {
    const rows = db.prepare('SELECT projection, generation FROM checkpoints').all() as {
      projection: string
      generation: number
    }[]
    return Object.fromEntries(rows.map((row) => [row.projection, row.generation]))
  } finally {
    db.close()
  }
}

t.test(
  'rebuilds every read model while a server serves and writes, and prints counts',
  async (t) => {
    const dataDir = givenSeededDir(t, 3000)
    // The user writes as fast as answers come back, well above the default rate limit, and the
    // test's sockets send no heartbeats.
    const env = {
      PARLEY_RATE_LIMIT: '10000/s,burst=10000',
      PARLEY_OFFLINE_AFTER_MS: '600000',
      PARLEY_LEAVE_AFTER_MS: '1200000',
    }
    const server = await startTestServer({ dataDir, env })
    let serving = true
    t.teardown(() => serving && server.close())
    const chat = await openConversation(server)
    t.teardown(async () => {
      await chat.user.close()
      await chat.agent.close()
    })

    // 1. The rebuild runs while the user keeps writing.
    const rebuilding = parley(['rebuild'], dataDir)
    const answers: string[] = []
    let done = false
    void rebuilding.then(() => (done = true))
    while (!done) {
      const frame = await chat.user.sendMessage({
        clientMsgId: uniqueId('during'),
        conversationId: chat.conversationId,
        content: text(`during ${answers.length}`),
      })
      answers.push(String(frame.type === 'sent' ? 'sent' : frame.code))
    }
    const result = await rebuilding

    // 2. Later messages still reach the history once each.
    const after = await chat.user.sendMessage({
      clientMsgId: uniqueId('after'),
      conversationId: chat.conversationId,
      content: text('after the switch'),
    })
    await server.parley.services.readModelsCaughtUp()
    const res = await fetch(
      `${server.httpUrl}/v1/conversations/${chat.conversationId}/messages?afterSeq=0`,
      { headers: { authorization: `Bearer ${server.token('user', chat.userId)}` } },
    )
    const { messages } = (await res.json()) as { messages: { seq: number }[] }
    const seqs = messages.map((m) => m.seq)

    t.equal(result.code, 0, 'exits 0')
    t.ok(answers.length > 0, `${answers.length} messages sent during the rebuild`)
    t.same(new Set(answers), new Set(['sent']), 'all of them accepted')
    t.equal(seqs[seqs.length - 1], after.seq)
    t.same(
      seqs,
      [...new Set(seqs)].sort((a, b) => a - b),
      'each message once, in order',
    )
    for (const { name } of allProjections) {
      t.match(
        result.out,
        new RegExp(
          `rebuilt ${name}: \\d+ events replayed, \\d+ docs written in [\\d.]+ s ` +
            `\\(\\d+ events/s\\); live at position \\d+, generation 1\\n`,
        ),
      )
      t.match(result.err, `parley: rebuild ${name}: replay, 0 events, 0 docs`)
      t.match(result.err, new RegExp(`parley: rebuild ${name}: switch, \\d+ events`))
    }

    // 3. Once the server has stopped, the read models are what a build from scratch gives.
    serving = false
    await server.close()
    const { live, scratch } = await liveAndScratch(t, dataDir)
    t.same(live, scratch)
  },
)

t.test('rebuilds only the named read model', async (t) => {
  const dataDir = givenSeededDir(t, 800, 2)
  t.equal((await parley(['rebuild'], dataDir)).code, 0)

  const result = await parley(['rebuild', '--projection', 'presence'], dataDir)

  t.equal(result.code, 0, 'exits 0')
  t.match(result.out, /^rebuilt presence: .*generation 2\n$/)
  t.match(generations(dataDir), {
    presence: 2,
    messages: 1,
    conversations: 1,
    agents: 1,
    pending_acks: 1,
  })
})

t.test('refuses an unknown read model and a data directory without a log', async (t) => {
  const dataDir = t.testdir()

  const unknown = await parley(['rebuild', '--projection', 'nope'], dataDir)
  const noLog = await parley(['rebuild'], dataDir)

  t.equal(unknown.code, EXIT_USAGE)
  t.match(unknown.err, /nope.*messages, conversations, agents, pending_acks, presence/s)
  t.equal(noLog.code, EXIT_FAILURE)
  t.match(noLog.err, `parley: no event log at ${join(dataDir, 'events.sqlite')}`)
})

t.test('draws a progress bar when stderr is a terminal, instead of lines', async (t) => {
  const dataDir = givenSeededDir(t, 800, 3)
  let drawn = ''
  const terminal = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        drawn += chunk.toString()
        callback()
      },
    }),
    { isTTY: true, columns: 120 },
  )
  let out = ''
  let err = ''
  const io = {
    out: (chunk: string) => void (out += chunk),
    err: (chunk: string) => void (err += chunk),
    env: { PARLEY_DATA_DIR: dataDir },
    stderr: terminal,
  }

  const code = await run(['node', 'parley', 'rebuild', '--projection', 'agents'], io)

  t.equal(code, 0)
  t.equal(err, '', 'no progress lines')
  t.match(drawn, /rebuild agents \w+ .*% \| \d+ events \| \d+ docs \| \d+\/s/)
  t.match(out, /^rebuilt agents: /)
})
