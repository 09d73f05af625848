import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { LISTENING } from './main'

/** A MongoDB double in a child process, for tests that run several Parley nodes against it. */
export interface SpawnedMongoDouble {
  /** `mongodb://127.0.0.1:<port>/?directConnection=true`. */
  url: string
  pid: number
  /** Everything the child wrote so far, for failure messages. */
  output(): string
  /** SIGTERM; resolves once the process is gone. */
  close(): Promise<void>
}

/** Longest wait for the child to print its URL: 60 s (a start loads TypeScript). */
export const DEFAULT_DOUBLE_READY_MS = 60_000

const ROOT = resolve(__dirname, '..', '..', '..')
const ENTRY = resolve(__dirname, 'main.ts')
const live = new Set<ChildProcess>()

// A test run that dies must not leave doubles behind holding ports.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/**
 * Starts tests/support/mongo-double/main.ts as spawn-server.ts starts Parley: through tap's
 * TypeScript loader, transpile-only, without tap's own process hooks in its environment.
 */
export async function spawnMongoDouble(
  readyTimeoutMs = DEFAULT_DOUBLE_READY_MS,
): Promise<SpawnedMongoDouble> {
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
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  void exited.then(() => live.delete(child))
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }

  const url = await new Promise<string>((ready, fail) => {
    const timer = setTimeout(() => {
      fail(new Error(`mongo double printed no URL within ${readyTimeoutMs} ms: ${output}`))
    }, readyTimeoutMs)
    const read = (chunk: Buffer): void => {
      output += chunk.toString()
      const line = output.split('\n').find((l) => l.startsWith(`${LISTENING} `))
      if (line === undefined) return
      clearTimeout(timer)
      ready(line.slice(LISTENING.length + 1).trim())
    }
    child.stdout?.on('data', read)
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    void exited.then(() => {
      clearTimeout(timer)
      fail(new Error(`mongo double exited before listening: ${output}`))
    })
  }).catch(async (err: unknown) => {
    await close()
    throw err
  })

  return { url, pid: child.pid ?? 0, output: () => output, close }
}
