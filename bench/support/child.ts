import { fork, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { resolve } from 'node:path'
import type { RpcReply, RpcRequest } from './rpc'

/** The project root: bench/support is two levels down in the source and in dist/. */
export const ROOT = resolve(__dirname, '..', '..', ...(__dirname.includes('/dist/') ? ['..'] : []))

/** Longest wait for a child to say it is ready: 60 s (a transpiling child is slow to start). */
export const DEFAULT_READY_MS = 60_000
/** Longest wait for one answer over IPC: 30 s. */
export const DEFAULT_RPC_MS = 30_000

// Run from TypeScript (the smoke test under tap), children are .ts files loaded through the
// same loader tap uses; run from dist/, they are the compiled .js files next to this one.
const RUNS_FROM_SOURCE = __filename.endsWith('.ts')

export interface ChildOptions {
  /** Path of the entry under bench/, without extension, e.g. 'servers/parley-entry'. */
  entry: string
  env?: Record<string, string>
  /** Extra node flags, e.g. --expose-gc or --cpu-prof. */
  nodeArgs?: string[]
  /** File for the child's stdout and stderr; default: discarded. */
  logFile?: string
}

/**
 * A bench child process with a request/answer channel over IPC. Each request carries an id and
 * waits, bounded, for the answer with the same id.
 */
export class BenchChild {
  private nextId = 1
  private readonly waiting = new Map<number, (reply: RpcReply) => void>()
  private readonly exited: Promise<void>
  private readyMessage: Promise<Record<string, unknown>>

  private constructor(readonly process: ChildProcess) {
    this.exited = new Promise((done) => process.once('exit', () => done()))
    this.readyMessage = new Promise((done, fail) => {
      process.once('exit', (code, signal) =>
        fail(new Error(`bench child exited before ready (${code ?? signal})`)),
      )
      const onMessage = (message: unknown): void => {
        const m = message as RpcReply & { type?: string }
        if (m.type === 'ready') {
          done(m as unknown as Record<string, unknown>)
          return
        }
        this.waiting.get(m.id)?.(m)
        this.waiting.delete(m.id)
      }
      process.on('message', onMessage)
    })
    this.readyMessage.catch(() => undefined)
  }

  static start(options: ChildOptions): BenchChild {
    const ext = RUNS_FROM_SOURCE ? '.ts' : '.js'
    const entry = resolve(__dirname, '..', `${options.entry}${ext}`)
    const env: Record<string, string | undefined> = {}
    for (const [key, value] of Object.entries(process.env)) {
      // tap's own hooks (coverage, process info) have no business in a bench child.
      if (key === 'NODE_OPTIONS' || key.startsWith('TAP') || key.startsWith('_TAPJS')) continue
      env[key] = value
    }
    if (RUNS_FROM_SOURCE) {
      env.TS_NODE_TRANSPILE_ONLY = '1'
      env.TS_NODE_PROJECT = resolve(ROOT, 'tsconfig.json')
    }
    Object.assign(env, options.env)

    const loader = RUNS_FROM_SOURCE ? ['--import=@tapjs/typescript/import'] : []
    const out = options.logFile === undefined ? 'ignore' : openSync(options.logFile, 'a')
    const child = fork(entry, [], {
      cwd: ROOT,
      env,
      execArgv: [...loader, ...(options.nodeArgs ?? [])],
      stdio: ['ignore', out, out, 'ipc'],
    })
    if (typeof out === 'number') closeSync(out)
    return new BenchChild(child)
  }

  get pid(): number {
    return this.process.pid ?? -1
  }

  /** The child's 'ready' message, or an error after `timeoutMs` or when it exits first. */
  ready(timeoutMs = DEFAULT_READY_MS): Promise<Record<string, unknown>> {
    return withTimeout(this.readyMessage, timeoutMs, 'bench child not ready')
  }

  request<T>(op: string, args: unknown = {}, timeoutMs = DEFAULT_RPC_MS): Promise<T> {
    const id = this.nextId++
    const answer = new Promise<T>((done, fail) => {
      this.waiting.set(id, (reply) =>
        reply.ok ? done(reply.result as T) : fail(new Error(`${op}: ${reply.error}`)),
      )
    })
    const request: RpcRequest = { id, op, args }
    this.process.send(request)
    return withTimeout(answer, timeoutMs, `no answer to '${op}'`).finally(() =>
      this.waiting.delete(id),
    )
  }

  /** Asks the child to stop (it closes what it holds and exits), then kills it if it lingers. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (this.gone()) return
    this.process.send({ id: 0, op: 'stop', args: {} } satisfies RpcRequest)
    const stopped = await withTimeout(this.exited, timeoutMs, 'bench child not stopped').then(
      () => true,
      () => false,
    )
    if (!stopped) await this.kill()
  }

  async kill(): Promise<void> {
    if (!this.gone()) this.process.kill('SIGKILL')
    await this.exited
  }

  private gone(): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} within ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

export function pause(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, Math.max(0, ms)))
}
