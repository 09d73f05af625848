import { randomUUID } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { openEventsDatabase } from '../../src/infra/eventstore/sqlite-schema'
import type { BenchPlan } from '../plan'
import { Latencies, type LatencySummary } from '../support/histogram'
import type { Progress } from '../support/progress'
import { sampleMessageSent } from '../replay/event-log'

/** Most appends one measurement makes, whatever its time budget: 2,000,000. */
const MAX_APPENDS = 2_000_000

export interface StoreAppends {
  writers: number
  appendsPerSecond: number
  latency: LatencySummary
  /** Appends per group commit, i.e. per fsync. */
  appendsPerCommit: number
}

export interface RawAppends {
  /** Rows per transaction (1: one commit per row). */
  batch: number
  rowsPerSecond: number
}

export interface AppendReport {
  seconds: number
  store: StoreAppends[]
  raw: RawAppends[]
}

/**
 * Scenario 3: the embedded event store (createSqliteEventStore) under 1, 16 and 64 concurrent
 * writers, each appending one MessageSent to its own stream at its expected revision, as the
 * command handler does. The baseline is better-sqlite3 on the same schema and pragmas (WAL,
 * synchronous = FULL) inserting the same rows: one row per commit, and N rows per commit to
 * match N writers sharing a group commit.
 */
export async function runAppend(o: {
  plan: BenchPlan['append']
  dataDir: string
  progress: Progress
}): Promise<AppendReport> {
  const dir = join(o.dataDir, 'append')
  mkdirSync(dir, { recursive: true })
  const store: StoreAppends[] = []
  const raw: RawAppends[] = []

  for (const writers of o.plan.writers) {
    const result = await storeAppends(join(dir, `store-${writers}.sqlite`), writers, o.plan.seconds)
    store.push(result)
    const rows = rawAppends(join(dir, `raw-${writers}.sqlite`), writers, o.plan.seconds)
    raw.push(rows)
    o.progress.note(
      `append: ${writers} writer(s) ${result.appendsPerSecond}/s ` +
        `(${result.appendsPerCommit} per commit), raw batch ${writers}: ${rows.rowsPerSecond}/s`,
    )
  }
  rmSync(dir, { recursive: true, force: true })
  return { seconds: o.plan.seconds, store, raw }
}

async function storeAppends(path: string, writers: number, seconds: number): Promise<StoreAppends> {
  let commits = 0
  const events = createSqliteEventStore({ path, onCommit: () => (commits += 1) })
  const latency = new Latencies()
  let appends = 0
  const started = performance.now()
  const deadline = started + seconds * 1000

  const writer = async (w: number): Promise<void> => {
    const stream = `conversation-bench${w}`
    let revision: bigint | 'no_stream' = 'no_stream'
    for (let seq = 1; performance.now() < deadline && appends < MAX_APPENDS; seq++) {
      const sent = sampleMessageSent(`bench${w}`, seq)
      const t = performance.now()
      const result = await events.appendToStream(stream, [{ type: sent.type, data: sent.data }], {
        expectedRevision: revision,
      })
      latency.recordMs(performance.now() - t)
      revision = result.nextExpectedRevision
      appends += 1
    }
  }
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)))
  const elapsed = (performance.now() - started) / 1000
  await events.close()
  return {
    writers,
    appendsPerSecond: Math.round(appends / elapsed),
    latency: latency.summary(),
    appendsPerCommit: Math.round((appends / Math.max(1, commits)) * 10) / 10,
  }
}

/** Same rows as the store writes (serialized data, a random id), `batch` rows per commit. */
function rawAppends(path: string, batch: number, seconds: number): RawAppends {
  const db = openEventsDatabase(path)
  const insert = db.prepare(
    `INSERT INTO events (id, stream, revision, type, data, metadata, recorded_at, category)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const revisions = new Array<number>(batch).fill(-1)
  const commit = db.transaction((seq: number) => {
    const at = Date.now()
    for (let w = 0; w < batch; w++) {
      const sent = sampleMessageSent(`bench${w}`, seq)
      revisions[w] += 1
      const data = JSON.stringify(sent.data)
      insert.run(
        randomUUID(),
        `conversation-bench${w}`,
        revisions[w],
        sent.type,
        data,
        '{}',
        at,
        'conversation',
      )
    }
  })

  let rows = 0
  const started = performance.now()
  const deadline = started + seconds * 1000
  for (let seq = 1; performance.now() < deadline && rows < MAX_APPENDS; seq++) {
    commit(seq)
    rows += batch
  }
  const elapsed = (performance.now() - started) / 1000
  db.close()
  return { batch, rowsPerSecond: Math.round(rows / elapsed) }
}
