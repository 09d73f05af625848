/**
 * TEST-ONLY. The EventStoreDB double as a child process (./main.ts), for tests where several
 * Parley processes share one store. Started the way tests/support/spawn-server.ts starts Parley:
 * node's `--import=@tapjs/typescript/import`, transpile-only, tap's hooks left out.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'

/** Longest wait for the child to print its URL: 60 s (a cold TypeScript start on a busy CI). */
export const DEFAULT_DOUBLE_READY_MS = 60_000

const ROOT = resolve(__dirname, '..', '..', '..')
const ENTRY = resolve(__dirname, 'main.ts')
const READY = /esdb-double listening (\S+)/
const live = new Set<ChildProcess>()

// A test run that dies must not leave doubles behind holding ports.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

export interface SpawnedEsdbDouble {
  url: string
  pid: number
  /** Everything the child printed, for failure messages. */
  output(): string
  /** SIGTERM; resolves once the process is gone. */
  stop(): Promise<void>
}

/** Starts the double in a child process; resolves with its URL once it serves. */
export function spawnEsdbDouble(
  options: { readyTimeoutMs?: number } = {},
): Promise<SpawnedEsdbDouble> {
  const env: Record<string, string | undefined> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key.startsWith('TAP') || key.startsWith('_TAPJS')) continue
    env[key] = value
  }
  env.TS_NODE_TRANSPILE_ONLY = '1'
  env.TS_NODE_PROJECT = resolve(ROOT, 'tsconfig.json')

  const child = spawn(process.execPath, ['--import=@tapjs/typescript/import', ENTRY], {
    cwd: ROOT,
    env,
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
      void stop().then(() => reject(new Error(`esdb double ${why}:\n${output}`)))
    }
    const timer = setTimeout(
      () => fail('not ready in time'),
      options.readyTimeoutMs ?? DEFAULT_DOUBLE_READY_MS,
    )
    let ready = false
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8')
      const match = ready ? null : READY.exec(output)
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
