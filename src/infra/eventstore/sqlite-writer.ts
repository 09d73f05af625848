import { existsSync } from 'node:fs'
import { extname, join } from 'node:path'
import { MessageChannel, Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'
import { createCommitter } from './sqlite-commit'
import type { EventStatements } from './sqlite-schema'
import {
  type OpenWriter,
  type WriteReply,
  type WriteRequest,
  type WriterEvent,
  type WriterMessage,
  deserializeError,
} from './sqlite-writer-protocol'

/** Where the event store's writes run: `worker` (a thread of its own) or `inline` (this one). */
export const WriterMode = { Worker: 'worker', Inline: 'inline' } as const
export type WriterMode = (typeof WriterMode)[keyof typeof WriterMode]

/** Default writer: a worker thread, except for `:memory:`, which only one connection can see. */
export const DEFAULT_WRITER_MODE: WriterMode = WriterMode.Worker

/** What a writer tells the store: each reply, in request order, or that it can write no more. */
export interface WriterHandlers {
  reply(reply: WriteReply): void
  failed(err: Error): void
}

/** The write side of the store: requests go in, replies come back to the handlers in order. */
export interface Writer {
  send(requests: WriteRequest[]): void
  /** Runs what was sent, then releases the connection; resolves when every reply was handed. */
  close(): Promise<void>
}

const repliedCount = (reply: WriteReply): number =>
  reply.kind === 'committed' ? reply.outcomes.length : reply.kind === 'failed' ? reply.count : 1

/**
 * The worker's entry file beside this one, compiled or not. From `dist/` this module is `.js` and
 * so is its sibling. Under ts-node (the tap tests) this module is `.ts`: the sibling is loaded as
 * `.ts` too, which works because a worker inherits the parent's `execArgv`, and with it the
 * TypeScript loader tap starts node with. A missing file is said at once, not by a dead thread.
 * Known shortcoming: a TypeScript runner that hooks only the main thread (the ts-node CLI's
 * `require` hook, not passed in `execArgv`) cannot start the writer; such a script must use
 * `writer: 'inline'` or run from `dist/`.
 */
export function writerEntryFile(): string {
  const file = join(__dirname, `sqlite-writer-worker${extname(__filename)}`)
  if (!existsSync(file)) throw new Error(`event store writer not found at ${file}; build first`)
  return file
}

interface SharedThread {
  worker: Worker
  /** How to tell each open store that the thread died. */
  stores: Set<(err: Error) => void>
}

// Known shortcoming: the writer isolate's heap grows with the write volume (its young generation
// and garbage: 23 MB at 40,000 appends, 40 MB at 100,000, 7 MB of it live; docs/performance.md)
// and no full GC is ever forced there, so the process's RSS is that much above an inline writer.
// A hard `resourceLimits` cap would turn a large burst into a dead writer; revisit by allocating
// less per append in the writer, or if the memory per connection matters more than the latency.
//
// One writer thread per process, started with the first store: a thread costs its start-up
// (much more under ts-node, which compiles the worker's modules again) and a process runs one
// store in production, but tests and the CLI open many in turn.
let shared: SharedThread | undefined

function sharedThread(): SharedThread {
  if (shared !== undefined) return shared
  const thread: SharedThread = { worker: new Worker(writerEntryFile()), stores: new Set() }
  const died = (err: Error): void => {
    if (shared === thread) shared = undefined
    for (const fail of thread.stores) fail(err)
    thread.stores.clear()
  }
  // Never holds the process by itself: each store's port does while it has writes outstanding.
  thread.worker.unref()
  thread.worker.on('error', died)
  thread.worker.on('exit', (code) => died(new Error(`event store writer exited (${code})`)))
  shared = thread
  return thread
}

/** The writer on the process's writer thread, with a connection of its own to `path`. */
export function startWorkerWriter(path: string, handlers: WriterHandlers): Writer {
  const thread = sharedThread()
  const { port1: port, port2 } = new MessageChannel()
  let outstanding = 0
  let broken: Error | undefined
  let closing: Promise<void> | undefined
  let closed: (() => void) | undefined

  const fail = (err: Error): void => {
    if (broken !== undefined) return
    broken = err
    thread.stores.delete(fail)
    port.close()
    closed?.()
    handlers.failed(err)
  }
  thread.stores.add(fail)

  // The port keeps the process alive only while a write is outstanding, as a pending fsync
  // would: an idle store left open does not hold the process after its work is done.
  port.unref()
  port.on('message', (event: WriterEvent) => {
    if (event.kind === 'closed') {
      thread.stores.delete(fail)
      port.close()
      return closed?.()
    }
    if (event.kind === 'broken') return fail(deserializeError(event.error))

    outstanding -= repliedCount(event)
    if (outstanding === 0 && closing === undefined) port.unref()
    handlers.reply(event)
  })
  const open: OpenWriter = { path, port: port2 }
  thread.worker.postMessage(open, [port2])

  const post = (message: WriterMessage): void => port.postMessage(message)

  return {
    send(requests) {
      if (broken !== undefined) throw broken
      outstanding += requests.length
      port.ref()
      post({ kind: 'requests', requests })
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (broken !== undefined) return resolve()
        closed = resolve
        port.ref()
        post({ kind: 'close' })
      })
      return closing
    },
  }
}

/**
 * The writer on this thread's connection, for `:memory:` (a second connection would open another
 * database) and for comparisons. What is sent in one turn commits together on the next.
 */
export function startInlineWriter(
  db: Database.Database,
  sql: EventStatements,
  handlers: WriterHandlers,
): Writer {
  const committer = createCommitter(db, sql)
  let queue: WriteRequest[] = []
  let scheduled: NodeJS.Immediate | undefined

  const flush = (): void => {
    scheduled = undefined
    const requests = queue
    queue = []
    if (requests.length === 0) return
    for (const reply of committer.run(requests)) handlers.reply(reply)
  }

  return {
    send(requests) {
      for (const request of requests) queue.push(request)
      scheduled ??= setImmediate(flush)
    },
    async close() {
      if (scheduled !== undefined) clearImmediate(scheduled)
      flush()
    },
  }
}
