import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { EXIT_FAILURE, run } from '../../src/cli/main'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { createSqliteReadModelStore } from '../../src/infra/readmodel/sqlite'
import { startProjection } from '../../src/projections/projection'
import { allProjections } from '../../src/projections/readmodels'
import { READ_MODELS_FILE } from '../../src/server'
import { seedLog } from '../support/seed-log'

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

/** A seeded log with its read models built by the runners, as a server leaves them. */
async function givenServedDir(t: Test, seed: number): Promise<string> {
  const dir = t.testdir()
  seedLog({ dir, events: 1500, seed })
  const events = createSqliteEventStore({ path: join(dir, 'events.sqlite') })
  const readModels = createSqliteReadModelStore({ path: join(dir, READ_MODELS_FILE) })
  const runners = allProjections.map((projection) =>
    startProjection({ events, readModels, projection }),
  )
  await Promise.all(runners.map((r) => r.ready))
  await Promise.all(runners.map((r) => r.stop()))
  await events.close()
  await readModels.close()
  return dir
}

/** Direct access to the read-model file, as a bug or a careless hand would change it. */
function tamper(dir: string, work: (db: Database.Database) => void): void {
  const db = new Database(join(dir, READ_MODELS_FILE))
  try {
    work(db)
  } finally {
    db.close()
  }
}

const tables = (dir: string): string[] => {
  const db = new Database(join(dir, READ_MODELS_FILE), { readonly: true })
  try {
    const rows = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()
    return (rows as { name: string }[]).map((row) => row.name).sort()
  } finally {
    db.close()
  }
}

t.test('exits 0 on healthy read models and says each is equal', async (t) => {
  const dir = await givenServedDir(t, 11)
  const before = tables(dir)

  const result = await parley(['verify'], dir)

  t.equal(result.code, 0, 'exits 0')
  const summaries = result.out.trim().split('\n')
  t.same(
    summaries.map((line) => line.replace(/ at position \d+: equal \(.*\)$/, '')),
    allProjections.map((p) => `verified ${p.name}`),
  )
  t.match(result.out, /verified messages at position \d+: equal \(\d+ docs; \d+ events replayed/)
  t.match(result.err, /parley: verify messages: replay, 0 events/)
  t.match(result.err, /parley: verify messages: compare, \d+ events/)
  t.same(tables(dir), before, 'no shadow is left behind')
})

t.test('exits 1 and prints a changed field, a deleted document and a stray one', async (t) => {
  const dir = await givenServedDir(t, 12)
  let changedKey = ''
  let deletedKey = ''
  tamper(dir, (db) => {
    const rows = db.prepare('SELECT key, doc FROM conversations ORDER BY key LIMIT 2').all() as {
      key: string
      doc: string
    }[]
    changedKey = rows[0].key
    const doc = { ...JSON.parse(rows[0].doc), status: 'tampered' }
    db.prepare('UPDATE conversations SET doc = ? WHERE key = ?').run(
      JSON.stringify(doc),
      changedKey,
    )
    deletedKey = (
      db.prepare('SELECT key FROM messages ORDER BY key LIMIT 1').get() as { key: string }
    ).key
    db.prepare('DELETE FROM messages WHERE key = ?').run(deletedKey)
    db.prepare('INSERT INTO agents (key, doc) VALUES (\'stray\', \'{"agentId":"stray"}\')').run()
  })

  const result = await parley(['verify'], dir)

  t.equal(result.code, EXIT_FAILURE)
  t.match(
    result.out,
    new RegExp(`^conversations ${changedKey}: status: live "tampered", rebuilt "\\w+"$`, 'm'),
  )
  t.match(
    result.out,
    new RegExp(`^messages ${deletedKey}: missing from live; rebuilt \\{"conversationId"`, 'm'),
  )
  t.match(
    result.out,
    /^agents stray: extra in live, not in the rebuild; live \{"agentId":"stray"\}$/m,
  )
  t.match(
    result.out,
    /^verified messages at position \d+: 1 difference \(live \d+ docs, rebuilt \d+;/m,
  )
  t.match(result.out, /^verified pending_acks at position \d+: equal/m)
  t.match(result.err, /parley: read models differ from the log: messages, conversations, agents\n$/)
  t.notMatch(tables(dir).join(' '), /__shadow/, 'no shadow is left behind')
})

t.test('verifies only the named read model', async (t) => {
  const dir = await givenServedDir(t, 13)
  tamper(dir, (db) => db.prepare('DELETE FROM agents').run())

  const conversations = await parley(['verify', '--projection', 'conversations'], dir)
  const agents = await parley(['verify', '--projection', 'agents'], dir)

  t.equal(conversations.code, 0)
  t.match(conversations.out, /^verified conversations at position \d+: equal .*\n$/)
  t.equal(agents.code, EXIT_FAILURE)
  t.match(agents.out, /: missing from live;/)
})
