import { WebSocketServer, type WebSocket } from 'ws'
import { announceReady, serveRpc } from '../support/rpc'

/** Same inbound frame cap as Parley's default (PARLEY_MAX_FRAME_BYTES). */
const MAX_PAYLOAD = 65_536

interface Pair {
  user?: WebSocket
  agent?: WebSocket
  seq: number
}

/**
 * The baseline: a bare `ws` relay with Parley's frame shapes and nothing else. A user's `send`
 * is answered at once with `sent` and forwarded to the agent of the same pair as `message`;
 * `ack` is dropped; `heartbeat` is echoed. No storage, no validation, no authentication: it
 * shows what the sockets and JSON alone cost on this machine with the same load generator.
 * Sockets say who they are in the URL: `/?role=user|agent&pair=<n>`.
 */
function main(): void {
  const pairs = new Map<number, Pair>()
  let messageIds = 0
  let dropped = 0
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_PAYLOAD })

  server.on('connection', (socket, request) => {
    const url = new URL(request.url ?? '/', 'http://relay')
    const role = url.searchParams.get('role') === 'agent' ? 'agent' : 'user'
    const index = Number(url.searchParams.get('pair') ?? -1)
    const pair = pairs.get(index) ?? { seq: 0 }
    pairs.set(index, pair)
    pair[role] = socket
    socket.on('close', () => {
      if (pair[role] === socket) pair[role] = undefined
    })

    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as {
        type: string
        clientMsgId?: string
        content?: unknown
      }
      if (frame.type === 'heartbeat') return socket.send('{"type":"heartbeat"}')
      if (frame.type !== 'send' || role !== 'user') return

      pair.seq += 1
      const messageId = String(++messageIds)
      const conversationId = `pair-${index}`
      const sentAt = Date.now()
      const { clientMsgId, content } = frame
      socket.send(
        JSON.stringify({
          type: 'sent',
          clientMsgId,
          messageId,
          conversationId,
          seq: pair.seq,
          sentAt,
        }),
      )
      if (!pair.agent) {
        dropped += 1
        return
      }
      const from = { role: 'user', id: `u${index}` }
      pair.agent.send(
        JSON.stringify({
          type: 'message',
          messageId,
          conversationId,
          seq: pair.seq,
          from,
          content,
          sentAt,
        }),
      )
    })
  })

  server.on('listening', () => {
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    serveRpc(
      { stats: () => ({ connections: server.clients.size, dropped }) },
      () =>
        new Promise<void>((done) => {
          for (const client of server.clients) client.terminate()
          server.close(() => done())
        }),
    )
    announceReady({ port })
  })
}

main()
