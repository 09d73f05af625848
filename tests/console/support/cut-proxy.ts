import { createServer, connect, type Socket } from 'node:net'

/**
 * A TCP forwarder on 127.0.0.1 in front of a server, so a test can cut one browser's network
 * for real. Playwright's `context.setOffline(true)` fails new requests but leaves open
 * WebSockets working (microsoft/playwright#4910, Chromium's offline emulation has the same
 * gap); the customer page talks to Parley through this proxy, and `cut()` drops its sockets and
 * refuses new ones until `restore()`. Can go once setOffline also cuts WebSockets.
 */
export interface CutProxy {
  /** http://127.0.0.1:<port> of the proxy. */
  url: string
  cut(): void
  restore(): void
  close(): Promise<void>
}

export async function startCutProxy(targetPort: number): Promise<CutProxy> {
  const live = new Set<Socket>()
  let blocked = false

  const server = createServer((client) => {
    if (blocked) {
      client.destroy()
      return
    }
    const upstream = connect(targetPort, '127.0.0.1')
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      live.add(a)
      a.on('error', () => b.destroy())
      a.on('close', () => {
        live.delete(a)
        b.destroy()
      })
      a.pipe(b)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0

  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      blocked = true
      for (const socket of live) socket.destroy()
    },
    restore() {
      blocked = false
    },
    close() {
      for (const socket of live) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
