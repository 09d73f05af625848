import { join } from 'node:path'
import type { IdleConnectArgs, IdleStats } from '../load/idle-client-entry'
import type { ServerKind } from '../load/fleet'
import type { BenchPlan } from '../plan'
import { launchParley, launchRelay, type LaunchedServer } from '../servers/launch'
import { BenchChild, pause } from '../support/child'
import { Latencies, type LatencySummary } from '../support/histogram'
import type { Progress } from '../support/progress'
import { diffSamples, type ProcessDelta, type ProcessSample } from '../support/rpc'

/** Longest wait for every idle connection to open: 180 s. */
export const IDLE_CONNECT_TIMEOUT_MS = 180_000

export interface IdleSide {
  connected: number
  failed: number
  connectMs: number
  /** Server RSS and JS heap (+ external) growth per connection, after a full GC. */
  rssPerConnectionBytes: number
  heapPerConnectionBytes: number
  rssBeforeBytes: number
  rssAfterBytes: number
  /** Server CPU and event-loop use over the window, heartbeats only. */
  window: ProcessDelta
  heartbeatsPerSecond: number
  serverMicrosPerHeartbeat: number | null
  heartbeatRoundTrip: LatencySummary
  /** Connections still open at the end of the window (Parley closes silent ones). */
  openAtEnd: number
}

export interface IdleReport {
  connections: number
  clientProcesses: number
  heartbeatMs: number
  windowSeconds: number
  parley: IdleSide
  relay: IdleSide
}

/**
 * Scenario 2: many authenticated connections doing nothing but heartbeats, on Parley and on the
 * bare relay: memory per connection and the CPU the heartbeats cost.
 */
export async function runIdle(o: {
  plan: BenchPlan['idle']
  dataDir: string
  progress: Progress
  profileDir?: string
}): Promise<IdleReport> {
  const parley = await launchParley({ dataDir: join(o.dataDir, 'idle'), profileDir: o.profileDir })
  const parleySide = await measureSide('parley', parley, o.plan, o.progress)
  const relay = await launchRelay()
  const relaySide = await measureSide('relay', relay, o.plan, o.progress)
  return {
    connections: o.plan.connections,
    clientProcesses: o.plan.clientProcesses,
    heartbeatMs: o.plan.heartbeatMs,
    windowSeconds: o.plan.windowSeconds,
    parley: parleySide,
    relay: relaySide,
  }
}

async function measureSide(
  kind: ServerKind,
  server: LaunchedServer,
  plan: BenchPlan['idle'],
  progress: Progress,
): Promise<IdleSide> {
  const clients: BenchChild[] = []
  try {
    // 1. Memory of the server with no connection.
    await pause(500)
    const empty = await gcSample(server)

    // 2. Connections, shared by the client processes.
    const started = performance.now()
    const share = Math.ceil(plan.connections / plan.clientProcesses)
    for (let i = 0; i < plan.clientProcesses; i++) {
      clients.push(BenchChild.start({ entry: 'load/idle-client-entry' }))
    }
    await Promise.all(clients.map((c) => c.ready()))
    const connects = await Promise.all(
      clients.map((client, i) => {
        const args: IdleConnectArgs = {
          kind,
          port: server.port,
          from: i * share,
          count: Math.max(0, Math.min(share, plan.connections - i * share)),
          heartbeatMs: plan.heartbeatMs,
          runId: String(process.pid),
        }
        return client.request<{ connected: number; failed: number; error?: string }>(
          'connect',
          args,
          IDLE_CONNECT_TIMEOUT_MS,
        )
      }),
    )
    const connected = connects.reduce((sum, c) => sum + c.connected, 0)
    const failed = connects.reduce((sum, c) => sum + c.failed, 0)
    const connectMs = performance.now() - started
    const firstError = connects.find((c) => c.error)?.error
    progress.note(
      `idle: ${kind} ${connected} connected in ${Math.round(connectMs)} ms` +
        (failed > 0 ? `, ${failed} failed (${firstError})` : ''),
    )

    // 3. Let every connection beat once after the connect burst, then measure a quiet window.
    await pause(plan.heartbeatMs)
    const loaded = await gcSample(server)
    await Promise.all(clients.map((c) => c.request('reset')))
    const before = await server.probe.sample()
    await pause(plan.windowSeconds * 1000)
    const after = await server.probe.sample()
    const stats = await Promise.all(clients.map((c) => c.request<IdleStats>('stats')))

    const window = diffSamples(before, after)
    const replies = stats.reduce((sum, s) => sum + s.replies, 0)
    const roundTrips = new Latencies()
    for (const s of stats) for (const ms of s.roundTripsMs) roundTrips.recordMs(ms)
    const perConnection = (bytes: number) => (connected > 0 ? Math.round(bytes / connected) : 0)
    const heap = (s: ProcessSample) => s.heapUsedBytes + s.externalBytes
    progress.note(
      `idle: ${kind} ${Math.round(window.cpuCoreShare * 1000) / 10}% of a core, ` +
        `${perConnection(loaded.rssBytes - empty.rssBytes)} B RSS per connection`,
    )
    return {
      connected,
      failed,
      connectMs: Math.round(connectMs),
      rssPerConnectionBytes: perConnection(loaded.rssBytes - empty.rssBytes),
      heapPerConnectionBytes: perConnection(heap(loaded) - heap(empty)),
      rssBeforeBytes: empty.rssBytes,
      rssAfterBytes: loaded.rssBytes,
      window,
      heartbeatsPerSecond: Math.round(replies / (window.wallMs / 1000)),
      serverMicrosPerHeartbeat: replies > 0 ? Math.round(window.cpuMicros / replies) : null,
      heartbeatRoundTrip: roundTrips.summary(),
      openAtEnd: stats.reduce((sum, s) => sum + s.open, 0),
    }
  } finally {
    // The server goes first: closing 10,000 sockets one by one would record 10,000 disconnects.
    if (server.profileDir) await server.child.stop(60_000)
    else await server.child.kill()
    await Promise.all(clients.map((c) => c.stop()))
  }
}

function gcSample(server: LaunchedServer): Promise<ProcessSample> {
  return server.child.request<ProcessSample>('sample', { gc: true })
}
