import { announceReady, serveRpc } from '../support/rpc'
import { benchToken, CONNECT_CONCURRENCY, type ServerKind } from './fleet'
import { HeartbeatWheel } from './heartbeats'
import { inBatches, LoadSocket } from './socket'

/** Most heartbeat round trips one client process keeps for the parent: 100,000. */
const MAX_SAMPLES = 100_000

export interface IdleConnectArgs {
  kind: ServerKind
  port: number
  /** This process's connections are ids `from` .. `from + count - 1`. */
  from: number
  count: number
  heartbeatMs: number
  runId: string
}

export interface IdleStats {
  open: number
  heartbeatsSent: number
  replies: number
  /** Heartbeat round trips since the last reset, in ms. */
  roundTripsMs: number[]
}

/**
 * A bench child that holds idle sockets: authenticated user connections (Parley) or plain ones
 * (relay) that only send a heartbeat every period and time each reply. Several of these share
 * the 10,000 connections of the idle scenario, each well under its file-descriptor limit.
 */
function main(): void {
  const sockets: LoadSocket[] = []
  let wheel: HeartbeatWheel | undefined
  let replies = 0
  let sentAtReset = 0
  let samples: number[] = []

  const connect = async (
    args: IdleConnectArgs,
  ): Promise<{ connected: number; failed: number; error?: string }> => {
    wheel = new HeartbeatWheel(args.heartbeatMs)
    const beats = wheel
    const tokenOf = (id: number) => benchToken('user', `idle${args.runId}-${id}`)
    const ids = Array.from({ length: args.count }, (_, i) => args.from + i)
    let failed = 0
    let error: string | undefined
    beats.start()
    await inBatches(ids, CONNECT_CONCURRENCY, async (id) => {
      const url =
        args.kind === 'parley'
          ? `ws://127.0.0.1:${args.port}/ws?token=${encodeURIComponent(tokenOf(id))}`
          : `ws://127.0.0.1:${args.port}/?role=user&pair=${id}`
      try {
        const socket = await LoadSocket.connect(url)
        const index = beats.add(socket)
        socket.onFrame = (f) => {
          if (f.type !== 'heartbeat') return
          replies += 1
          if (samples.length < MAX_SAMPLES) samples.push(performance.now() - beats.sentAt[index])
        }
        sockets.push(socket)
      } catch (err) {
        failed += 1
        error ??= err instanceof Error ? err.message : String(err)
      }
    })
    return { connected: sockets.length, failed, ...(error !== undefined && { error }) }
  }

  serveRpc(
    {
      connect,
      reset: () => {
        samples = []
        replies = 0
        sentAtReset = wheel?.sent ?? 0
      },
      stats: (): IdleStats => ({
        open: sockets.filter((s) => !s.closed).length,
        heartbeatsSent: (wheel?.sent ?? 0) - sentAtReset,
        replies,
        roundTripsMs: samples,
      }),
    },
    async () => {
      wheel?.stop()
      for (const socket of sockets) socket.terminate()
    },
  )
  announceReady({})
}

main()
