import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { createSqliteReadModelStore } from '../../src/infra/readmodel/sqlite'
import { startProjection } from '../../src/projections/projection'
import { allProjections } from '../../src/projections/readmodels'
import type { BenchPlan } from '../plan'
import { withTimeout } from '../support/child'
import { profileWhile } from '../support/inspector-profile'
import type { Progress } from '../support/progress'
import { writeLog, type WrittenLog } from '../replay/write-log'

export interface ReplayReport {
  log: WrittenLog
  /** better-sqlite3 iterating every row (as arrays) in position order, JSON.parse of the data. */
  rawScan: { events: number; seconds: number; eventsPerSecond: number }
  /** The event-store port: `readAll()` from the start, every event decoded. */
  readAll: { events: number; seconds: number; eventsPerSecond: number }
  /** Every read model rebuilt from the log into a fresh read-model store. */
  rebuild: {
    events: number
    seconds: number
    eventsPerSecond: number
    /** False when the rebuild was stopped at its time limit; the rate is then from progress. */
    complete: boolean
    /** When each projection caught up, seconds from the start (null: not within the limit). */
    projectionSeconds: Record<string, number | null>
  }
}

/**
 * Scenario 4: a log of N realistic events (see replay/event-log), read back three ways: a raw
 * scan, the event-store port's readAll, and a full rebuild of the read models by the projection
 * runners, all five at once as at server start.
 */
export async function runReplay(o: {
  plan: BenchPlan['replay']
  dataDir: string
  progress: Progress
  /** Profile the rebuild (in this process) into this directory. */
  profileDir?: string
}): Promise<ReplayReport> {
  const dir = join(o.dataDir, 'replay')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'events.sqlite')
  try {
    o.progress.note(`replay: writing ${o.plan.events} generated events`)
    const log = writeLog(path, o.plan.events)
    o.progress.note(
      `replay: log written in ${log.seconds.toFixed(1)} s (${Math.round(log.bytes / 1e6)} MB)`,
    )

    const rawScan = scanRaw(path)
    o.progress.note(`replay: raw scan ${rawScan.eventsPerSecond}/s`)
    const readAll = await scanPort(path)
    o.progress.note(`replay: readAll ${readAll.eventsPerSecond}/s`)
    const rebuildAll = () =>
      rebuildReadModels(path, join(dir, 'read-models.sqlite'), log.events, o.plan)
    const rebuild = o.profileDir
      ? await profileWhile(o.profileDir, 'rebuild', rebuildAll)
      : await rebuildAll()
    o.progress.note(
      `replay: rebuild ${rebuild.eventsPerSecond}/s` +
        (rebuild.complete ? '' : ' (stopped at the limit)'),
    )
    return { log, rawScan, readAll, rebuild }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The fastest plain scan found for this table: one statement over every row as arrays (rows as
 * objects, or pages of 1000, measured 20-30 % slower here), the data column parsed.
 */
function scanRaw(path: string): ReplayReport['rawScan'] {
  const db = new Database(path, { readonly: true })
  const started = performance.now()
  let events = 0
  const rows = db
    .prepare(
      'SELECT position, id, stream, revision, type, data, metadata, recorded_at ' +
        'FROM events ORDER BY position',
    )
    .raw(true)
    .iterate() as IterableIterator<unknown[]>
  for (const row of rows) {
    if (JSON.parse(row[5] as string) !== undefined) events += 1
  }
  const seconds = (performance.now() - started) / 1000
  db.close()
  return { events, seconds: round(seconds), eventsPerSecond: Math.round(events / seconds) }
}

async function scanPort(path: string): Promise<ReplayReport['readAll']> {
  const store = createSqliteEventStore({ path })
  const started = performance.now()
  let events = 0
  for await (const event of store.readAll()) {
    if (event.data !== undefined) events += 1
  }
  const seconds = (performance.now() - started) / 1000
  await store.close()
  return { events, seconds: round(seconds), eventsPerSecond: Math.round(events / seconds) }
}

async function rebuildReadModels(
  eventsPath: string,
  readModelsPath: string,
  total: number,
  plan: BenchPlan['replay'],
): Promise<ReplayReport['rebuild']> {
  const events = createSqliteEventStore({ path: eventsPath })
  const readModels = createSqliteReadModelStore({ path: readModelsPath })
  await readModels.ensureCollections(allProjections.flatMap((p) => p.collections))
  const head = await events.headPosition()

  const started = performance.now()
  const projectionSeconds: Record<string, number | null> = {}
  const runners = allProjections.map((projection) => {
    const runner = startProjection({ events, readModels, projection })
    projectionSeconds[projection.name] = null
    void runner.ready.then(() => {
      projectionSeconds[projection.name] = round((performance.now() - started) / 1000)
    })
    return runner
  })
  const complete = await withTimeout(
    Promise.all(runners.map((r) => r.ready)).then(() => true),
    plan.rebuildTimeoutSeconds * 1000,
    'rebuild not done',
  ).catch(() => false)
  const seconds = (performance.now() - started) / 1000

  // Stopped early: the checkpoint of the slowest runner still going says how far the rebuild got.
  const going = runners.filter((_, i) => projectionSeconds[allProjections[i].name] === null)
  const slowest = going.reduce((min, r) => (r.position() < min ? r.position() : min), head)
  const done = complete ? total : Math.round((Number(slowest) / Number(head)) * total)
  await Promise.all(runners.map((r) => r.stop()))
  await events.close()
  await readModels.close()
  return {
    events: done,
    seconds: round(seconds),
    eventsPerSecond: Math.round(done / seconds),
    complete,
    projectionSeconds,
  }
}

const round = (value: number): number => Math.round(value * 100) / 100
