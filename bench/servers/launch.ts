import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { BENCH_SECRET } from '../load/fleet'
import type { ServerProbe } from '../load/open-loop'
import { BenchChild } from '../support/child'
import type { ProcessSample } from '../support/rpc'

/**
 * Per-connection frame budget for the bench: Parley's highest accepted rate. The default
 * (20/s, burst 40) is a production guard against floods; at a few thousand messages per second
 * over 500 users the load generator would measure the limiter, not the server.
 */
export const BENCH_RATE_LIMIT = '10000/s,burst=100000'

export interface LaunchedServer {
  child: BenchChild
  port: number
  probe: ServerProbe
  /** Where --cpu-prof writes, when profiling. */
  profileDir?: string
}

export interface ParleyLaunchOptions {
  dataDir: string
  /** Extra PARLEY_* variables for the scenario. */
  env?: Record<string, string>
  /** Write a V8 CPU profile of the whole child (node --cpu-prof) into this directory. */
  profileDir?: string
}

/** Starts Parley (bench/servers/parley-entry) in a child on 127.0.0.1 and a free port. */
export async function launchParley(options: ParleyLaunchOptions): Promise<LaunchedServer> {
  mkdirSync(options.dataDir, { recursive: true })
  const nodeArgs = ['--expose-gc']
  if (options.profileDir) {
    mkdirSync(options.profileDir, { recursive: true })
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`)
  }
  const child = BenchChild.start({
    entry: 'servers/parley-entry',
    nodeArgs,
    logFile: join(options.dataDir, 'server.log'),
    env: {
      PARLEY_DATA_DIR: options.dataDir,
      PARLEY_AUTH_SECRET: BENCH_SECRET,
      HOST: '127.0.0.1',
      PORT: '0',
      PARLEY_RATE_LIMIT: BENCH_RATE_LIMIT,
      PARLEY_LOG_LEVEL: 'warn',
      ...options.env,
    },
  })
  return ready(child, true, options.profileDir)
}

/** Starts the bare ws relay (bench/servers/relay-entry) in a child. */
export async function launchRelay(options: { logFile?: string } = {}): Promise<LaunchedServer> {
  const child = BenchChild.start({
    entry: 'servers/relay-entry',
    nodeArgs: ['--expose-gc'],
    logFile: options.logFile,
  })
  return ready(child, false)
}

async function ready(
  child: BenchChild,
  commits: boolean,
  profileDir?: string,
): Promise<LaunchedServer> {
  try {
    const { port } = (await child.ready()) as { port: number }
    const probe: ServerProbe = {
      sample: () => child.request<ProcessSample>('sample', { gc: false }),
      ...(commits && {
        commits: () =>
          child.request<{ transactions: number; appends: number; events: number }>('stats'),
      }),
    }
    return { child, port, probe, profileDir }
  } catch (err) {
    await child.kill()
    throw err
  }
}

/** The .cpuprofile files a profiled child left, newest last. */
export function profilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .map((name) => join(dir, name))
}
