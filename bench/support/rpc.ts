import { performance, type EventLoopUtilization } from 'node:perf_hooks'

/** A parent's request to a bench child; `id: 0` expects no answer. */
export interface RpcRequest {
  id: number
  op: string
  args: unknown
}

export interface RpcReply {
  id: number
  ok: boolean
  result?: unknown
  error?: string
}

/** What every bench child reports about itself: CPU, event-loop use and memory. */
export interface ProcessSample {
  /** process.cpuUsage(), user + system, µs since the process started. */
  cpuMicros: number
  /** The kernel's part of `cpuMicros` (system calls: socket writes, fsync, page cache). */
  cpuSystemMicros: number
  /** performance.eventLoopUtilization() raw counters, to be diffed by the parent. */
  elu: { idle: number; active: number }
  wallMs: number
  /** The monotonic clock in µs, the clock of V8 CPU profiles, to cut a profile to a window. */
  monotonicMicros: number
  rssBytes: number
  heapUsedBytes: number
  externalBytes: number
  arrayBuffersBytes: number
}

export type Handler = (args: never) => unknown

/** Samples this process; with `gc`, collects garbage first (node must run with --expose-gc). */
export function sampleProcess(gc = false): ProcessSample {
  const collect = (globalThis as { gc?: () => void }).gc
  if (gc && collect) {
    collect()
    collect()
  }
  const cpu = process.cpuUsage()
  const elu: EventLoopUtilization = performance.eventLoopUtilization()
  const mem = process.memoryUsage()
  return {
    cpuMicros: cpu.user + cpu.system,
    cpuSystemMicros: cpu.system,
    elu: { idle: elu.idle, active: elu.active },
    wallMs: performance.now(),
    monotonicMicros: Number(process.hrtime.bigint() / 1000n),
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    externalBytes: mem.external,
    arrayBuffersBytes: mem.arrayBuffers,
  }
}

/**
 * The child side of the IPC channel: answers `sample` and the given handlers, and runs `stop`
 * (then exits) when the parent asks or goes away.
 */
export function serveRpc(handlers: Record<string, Handler>, stop: () => Promise<void>): void {
  let stopping = false
  const end = (): void => {
    if (stopping) return
    stopping = true
    const exit = (): never => process.exit(0)
    // Bounded: a stop that hangs must not keep a bench child alive.
    setTimeout(exit, 15_000).unref()
    stop().then(exit, exit)
  }

  process.on('disconnect', end)
  process.on('message', (message: RpcRequest) => {
    if (message.op === 'stop') return end()
    const reply = (body: Omit<RpcReply, 'id'>): void => {
      if (message.id !== 0 && process.connected) process.send?.({ id: message.id, ...body })
    }
    const handler =
      message.op === 'sample'
        ? (args: { gc?: boolean }) => sampleProcess(args.gc)
        : handlers[message.op]
    if (!handler) return reply({ ok: false, error: `unknown op ${message.op}` })

    Promise.resolve()
      .then(() => (handler as (args: unknown) => unknown)(message.args))
      .then(
        (result) => reply({ ok: true, result }),
        (err: unknown) =>
          reply({ ok: false, error: err instanceof Error ? err.message : String(err) }),
      )
  })
}

/** Tells the parent this child is ready, with whatever it needs to know (a port). */
export function announceReady(info: Record<string, unknown>): void {
  process.send?.({ type: 'ready', ...info })
}

/** CPU and event-loop use between two samples of one process. */
export interface ProcessDelta {
  wallMs: number
  cpuMicros: number
  /** CPU time as a share of one core over the interval. */
  cpuCoreShare: number
  /** The kernel's part of it. */
  systemCoreShare: number
  /** Share of the interval the event loop was busy (blocking fsyncs included). */
  eventLoopUtilization: number
  /** The interval on the process's monotonic clock, in µs. */
  monotonicSpan: { from: number; to: number }
}

export function diffSamples(before: ProcessSample, after: ProcessSample): ProcessDelta {
  const wallMs = after.wallMs - before.wallMs
  const cpuMicros = after.cpuMicros - before.cpuMicros
  const active = after.elu.active - before.elu.active
  const idle = after.elu.idle - before.elu.idle
  return {
    wallMs,
    cpuMicros,
    cpuCoreShare: wallMs > 0 ? cpuMicros / (wallMs * 1000) : 0,
    systemCoreShare:
      wallMs > 0 ? (after.cpuSystemMicros - before.cpuSystemMicros) / (wallMs * 1000) : 0,
    eventLoopUtilization: active + idle > 0 ? active / (active + idle) : 0,
    monotonicSpan: { from: before.monotonicMicros, to: after.monotonicMicros },
  }
}
