import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'

/**
 * TEST-ONLY. A protocol double (tests/support/esdb-double, tests/support/mongo-double) in a
 * child process, for tests where several Parley processes share one store. Started the way
 * spawn-server.ts starts Parley: node's `--import=@tapjs/typescript/import`, transpile-only,
 * with tap's own process hooks left out of its environment. Ready once it prints its URL.
 */
export interface SpawnedDouble {
  url: string
  pid: number
  /** Everything the child printed, for failure messages. */
  output(): string
  /** SIGTERM; resolves once the process is gone. */
  stop(): Promise<void>
}

/** Longest wait for a double to print its URL: 60 s (a cold TypeScript start on a busy CI). */
export const DEFAULT_DOUBLE_READY_MS = 60_000

const ROOT = resolve(__dirname, '..', '..')
const live = new Set<ChildProcess>()

// A test run that dies must not leave doubles behind holding ports.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/** The environment of a TypeScript child: this one's, less tap's hooks. */
export function childEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key.startsWith('TAP') || key.startsWith('_TAPJS')) continue
    env[key] = value
  }
  env.TS_NODE_TRANSPILE_ONLY = '1'
  env.TS_NODE_PROJECT = resolve(ROOT, 'tsconfig.json')
  return env
}

/** Starts `entry`; resolves once its output matches `ready` (whose first group is the URL). */
export function spawnDouble(options: {
  name: string
  entry: string
  ready: RegExp
  readyTimeoutMs?: number
}): Promise<SpawnedDouble> {
  const child = spawn(process.execPath, ['--import=@tapjs/typescript/import', options.entry], {
    cwd: ROOT,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  let output = ''
  const exited = new Promise<void>((done) => child.once('exit', () => (live.delete(child), done())))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }

  return new Promise((resolveReady, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer)
      void stop().then(() => reject(new Error(`${options.name} ${why}:\n${output}`)))
    }
    const timer = setTimeout(
      () => fail('not ready in time'),
      options.readyTimeoutMs ?? DEFAULT_DOUBLE_READY_MS,
    )
    let ready = false
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8')
      const match = ready ? null : options.ready.exec(output)
      if (!match) return
      ready = true
      clearTimeout(timer)
      resolveReady({ url: match[1], pid: child.pid ?? -1, output: () => output, stop })
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    child.once('exit', (code, signal) => {
      if (!ready) fail(`exited (${code ?? signal})`)
    })
  })
}
