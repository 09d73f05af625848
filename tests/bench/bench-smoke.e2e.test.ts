import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { runBench } from '../../bench/harness'
import type { BenchPlan } from '../../bench/plan'
import { renderReport } from '../../bench/report/table'
import { silentProgress } from '../../bench/support/progress'

// Five child processes start through ts-node (two Parleys, two relays, one idle client): allow
// for a slow, shared machine. The load itself lasts a few seconds.
t.setTimeout(240_000)

/** Every scenario, as small as still exercises it. */
const TINY_PLAN: BenchPlan = {
  name: 'smoke',
  fsyncProbe: { count: 5 },
  throughput: {
    pairs: 3,
    stepSeconds: 0.5,
    drainMs: 1000,
    parleyRates: [20, 40],
    relayRates: [50, 100],
    halfKneeSeconds: 0.5,
    settleMs: 1000,
  },
  idle: { connections: 6, clientProcesses: 1, heartbeatMs: 300, windowSeconds: 0.6 },
  append: { writers: [1, 4], seconds: 0.2 },
  replay: { events: 1500, rebuildTimeoutSeconds: 60 },
}

t.test('the bench runs every scenario and reports every section and target', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))

  const report = await runBench({ plan: TINY_PLAN, dataDir, progress: silentProgress })

  t.same(report.failures, [], 'no scenario failed')
  t.match(report.environment, {
    node: process.versions.node,
    sqlite: /^3\.\d+/,
    parley: String,
    cpuModel: String,
    fsyncProbe: { count: 5, fsyncsPerSecond: Number },
  })
  t.ok(report.environment.packages['better-sqlite3'], 'names the better-sqlite3 version')

  const throughput = report.throughput
  t.ok(throughput && throughput.parley.steps.length > 0, 'Parley climbed at least one step')
  t.ok(throughput && throughput.relay.steps.length > 0, 'the relay climbed at least one step')
  t.ok(throughput?.parley.halfKnee?.delivered, 'messages arrived at half the knee')
  t.ok(throughput?.relay.atParleyHalfKnee, 'the relay ran at the same rate')
  t.equal(report.idle?.parley.connected, 6, 'every idle Parley connection opened')
  t.equal(report.idle?.relay.connected, 6, 'every idle relay connection opened')
  t.equal(report.append?.store.length, 2, 'one store measurement per writer count')
  t.equal(report.append?.raw.length, 2, 'one raw measurement per writer count')
  t.equal(report.replay?.log.events, 1500, 'the generated log has every event')
  t.equal(report.replay?.readAll.events, 1500, 'readAll read every event')
  t.equal(report.replay?.rebuild.complete, true, 'the rebuild finished')

  t.ok(report.targets.length >= 10, 'every target is listed')
  // The throughput targets need a knee, which a tiny ladder on a busy machine may not reach,
  // and the memory per connection of six connections is within the noise of RSS (it can come
  // out zero or negative, and is then not judged); the others are measured by every run.
  t.ok(
    report.targets.some((target) => target.id === 'idle-memory'),
    'the idle memory target is listed',
  )
  const alwaysMeasured = ['append', 'replay', 'rebuild']
  t.same(
    report.targets
      .filter((target) => alwaysMeasured.some((id) => target.id.startsWith(id)))
      .filter((target) => target.met === null)
      .map((target) => target.id),
    [],
    'every target that needs no knee is judged',
  )
  t.doesNotThrow(() => JSON.stringify(report), 'the report is plain JSON')
  t.match(renderReport(report), /knee throughput vs bare relay/)
})
