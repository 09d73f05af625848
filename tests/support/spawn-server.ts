import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { TEST_SECRET, testToken, type ServerEndpoint } from './server'
import { childEnv } from './spawn-double'

/**
 * Parley as a child process, for tests that must kill the server hard (`kill -9`), which an
 * in-process server cannot survive.
 *
 * The child runs src/main.ts through the loader tap runs the test files with: node's `--import`
 * of `@tapjs/typescript/import`, which registers the ts-node fork that @tapjs/typescript
 * depends on (CommonJS hook included). So the child runs today's source, like the in-process
 * tests; dist/src/main.js would be whatever the last `npm run build` left, and silently stale
 * while src/ changes. TS_NODE_TRANSPILE_ONLY=1 skips type checking (`npm run typecheck` owns
 * that), which is most of a start's cost; a start still takes several seconds on a busy machine,
 * hence the generous default readiness timeout.
 *
 * The port: PORT=0 would let the OS pick, but the child's 'parley serving' line reports the
 * configured port (0), not the bound one, so the test could not learn it. Instead a free port is
 * reserved by listening on port 0 and closing; should another process take it before the child
 * binds, the start fails with EADDRINUSE and is retried on a fresh port.
 *
 * tap's own process hooks (coverage, process info) are left out of the child's environment: a
 * child killed with SIGKILL could not report to them anyway.
 */
export interface SpawnedServer extends ServerEndpoint {
  readonly dataDir: string
  readonly pid: number
  /** Everything the child wrote to stdout and stderr so far, for failure messages. */
  output(): string
  /** SIGKILL: no shutdown hook runs. Resolves once the process is gone. */
  kill(): Promise<void>
  /** SIGTERM, the graceful shutdown; resolves once the process is gone. */
  stop(): Promise<void>
}

/** Longest wait for a spawned server to answer /healthz: 60 s. */
export const DEFAULT_SPAWN_READY_MS = 60_000
/** Most starts tried when the reserved port was taken meanwhile: 3. */
const MAX_PORT_ATTEMPTS = 3
/** Pause between two /healthz polls, cut short by any output or exit of the child: 100 ms. */
const POLL_PAUSE_MS = 100

const ROOT = resolve(__dirname, '..', '..')
const ENTRY = resolve(ROOT, 'src', 'main.ts')
const live = new Set<ChildProcess>()

// A test run that dies must not leave servers behind holding ports and data directories.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/** Starts src/main.ts on a free port of 127.0.0.1 and resolves once /healthz answers. */
export async function spawnServer(options: {
  dataDir: string
  env?: Record<string, string>
  readyTimeoutMs?: number
}): Promise<SpawnedServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const server = startChild(port, options)
    try {
      await waitUntilReady(server, options.readyTimeoutMs ?? DEFAULT_SPAWN_READY_MS)
      return server.endpoint
    } catch (err) {
      await server.endpoint.kill()
      if (attempt < MAX_PORT_ATTEMPTS && server.endpoint.output().includes('EADDRINUSE')) continue
      throw err
    }
  }
}

interface Child {
  process: ChildProcess
  endpoint: SpawnedServer
  exited: Promise<void>
  /** Resolves at the child's next output or exit. */
  activity(): Promise<void>
}

function startChild(
  port: number,
  options: { dataDir: string; env?: Record<string, string> },
): Child {
  const env = Object.assign(childEnv(), {
    PORT: String(port),
    HOST: '127.0.0.1',
    PARLEY_DATA_DIR: options.dataDir,
    PARLEY_AUTH_SECRET: TEST_SECRET,
    ...options.env,
  })

  const child = spawn(process.execPath, ['--import=@tapjs/typescript/import', ENTRY], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)

  let output = ''
  const wake: (() => void)[] = []
  const stir = (): void => {
    for (const w of wake.splice(0)) w()
  }
  const collect = (chunk: Buffer): void => {
    output += chunk.toString('utf8')
    stir()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = new Promise<void>((done) => {
    child.once('exit', () => {
      live.delete(child)
      stir()
      done()
    })
  })
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (!gone()) child.kill(signal)
    await exited
  }

  const endpoint: SpawnedServer = {
    dataDir: options.dataDir,
    pid: child.pid ?? -1,
    wsUrl: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    token: testToken,
    output: () => output,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  }
  return {
    process: child,
    endpoint,
    exited,
    activity: () => new Promise<void>((done) => wake.push(done)),
  }
}

/** Polls /healthz, a bounded number of times, until it answers 200 or the child exits. */
async function waitUntilReady(child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const { process: proc, endpoint } = child
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(
        `parley child exited (${proc.exitCode ?? proc.signalCode}):\n${endpoint.output()}`,
      )
    }
    if (await healthy(endpoint.httpUrl)) return
    await Promise.race([child.activity(), pause(Math.min(POLL_PAUSE_MS, deadline - Date.now()))])
  }
  throw new Error(`parley child not healthy within ${timeoutMs} ms:\n${endpoint.output()}`)
}

async function healthy(httpUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(1000) })
    return response.status === 200
  } catch {
    return false
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, Math.max(0, ms)).unref())
}

/** A port nobody listened on a moment ago. */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer()
    probe.once('error', fail)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address ? address.port : 0
      probe.close(() => done(port))
    })
  })
}
