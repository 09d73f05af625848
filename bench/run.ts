import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import { runBench } from './harness'
import {
  FULL_PLAN,
  PROFILED_SCENARIOS,
  QUICK_PLAN,
  SCENARIOS,
  type BenchPlan,
  type ProfiledScenario,
  type ScenarioName,
} from './plan'
import { renderReport } from './report/table'
import { ROOT } from './support/child'
import { streamProgress } from './support/progress'

/** Where results go unless --out says otherwise. */
export const RESULTS_DIR = join(ROOT, 'bench-results')

interface CliOptions {
  quick?: boolean
  only?: ScenarioName[]
  out?: string
  dataDir?: string
  profile?: ProfiledScenario
  rate?: number
  pairs?: number
  connections?: number
  events?: number
}

const positive = (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer')
  return n
}

const scenarioList = (value: string): ScenarioName[] => {
  const names = value.split(',').map((s) => s.trim())
  const unknown = names.filter((n) => !SCENARIOS.includes(n as ScenarioName))
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown scenario ${unknown.join(', ')}`)
  return names as ScenarioName[]
}

function planOf(options: CliOptions): BenchPlan {
  const base = options.quick ? QUICK_PLAN : FULL_PLAN
  return {
    ...base,
    throughput: { ...base.throughput, ...(options.pairs && { pairs: options.pairs }) },
    idle: { ...base.idle, ...(options.connections && { connections: options.connections }) },
    replay: { ...base.replay, ...(options.events && { events: options.events }) },
  }
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('bench')
    .description('Parley load and storage benchmarks against same-run baselines (127.0.0.1 only)')
    .option('--quick', 'every scenario, small: under two minutes')
    .option('--only <scenarios>', `comma-separated subset of ${SCENARIOS.join(',')}`, scenarioList)
    .option(
      '--out <file>',
      'JSON results (default bench-results/latest.json, quick.json with --quick)',
    )
    .option(
      '--data-dir <dir>',
      'scratch directory, removed at the end (default bench-results/tmp-<pid>)',
    )
    .addOption(
      new Option(
        '--profile <scenario>',
        'CPU profile: the Parley child (throughput, idle) or the rebuild (replay)',
      ).choices(PROFILED_SCENARIOS),
    )
    .option(
      '--rate <msgs>',
      'throughput: only this rate on Parley, no ladder (for profiling)',
      positive,
    )
    .option('--pairs <n>', 'throughput: user/agent pairs', positive)
    .option('--connections <n>', 'idle: connections', positive)
    .option('--events <n>', 'replay: events in the log', positive)
    .parse(argv)
  const options = program.opts<CliOptions>()

  const plan = planOf(options)
  const out = resolve(
    options.out ?? join(RESULTS_DIR, options.quick ? 'quick.json' : 'latest.json'),
  )
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const report = await runBench({
    plan,
    scenarios: options.only,
    dataDir: resolve(options.dataDir ?? join(RESULTS_DIR, `tmp-${process.pid}`)),
    progress: streamProgress(process.stderr),
    profile: options.profile,
    profileDir: options.profile && join(RESULTS_DIR, 'profiles', stamp),
    fixedRate: options.rate,
    command: `npm run bench -- ${argv.slice(2).join(' ')}`.trim(),
  })

  const text = renderReport(report)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(out.replace(/\.json$/, '') + '.txt', `${text}\n`)
  process.stdout.write(`${text}\n\nresults: ${out}\n`)
  if (report.failures.length > 0) process.exitCode = 1
}

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
