import WebSocket from 'ws'
import { withTimeout } from '../support/child'

export type Frame = Record<string, unknown> & { type: string }

/** Longest wait for a socket to open: 30 s. */
export const CONNECT_TIMEOUT_MS = 30_000

interface Waiter {
  match(frame: Frame): boolean
  done(frame: Frame): void
}

/**
 * A load-generator socket, lighter than the tests' client: it keeps no frame history. Each frame
 * goes to `onFrame`, then every pushed `message` or `system` frame is acknowledged at once (as a
 * client must, or the server pushes it again); `next` awaits one frame during set-up.
 */
export class LoadSocket {
  onFrame: (frame: Frame) => void = () => {}
  private waiters: Waiter[] = []
  closed = false

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.receive(JSON.parse(String(data)) as Frame))
    ws.on('close', () => {
      this.closed = true
    })
    ws.on('error', () => undefined)
  }

  static connect(url: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<LoadSocket> {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    const opened = new Promise<LoadSocket>((done, fail) => {
      ws.once('open', () => done(new LoadSocket(ws)))
      ws.once('unexpected-response', (_req, res) =>
        fail(new Error(`upgrade refused: ${res.statusCode}`)),
      )
      ws.once('error', fail)
    })
    return withTimeout(opened, timeoutMs, `socket to ${url.split('?')[0]} not open`).catch(
      (err) => {
        ws.terminate()
        throw err
      },
    )
  }

  send(frame: Record<string, unknown>): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame))
  }

  /** The next frame (from now on) that matches; fails after `timeoutMs` saying what. */
  next(match: (frame: Frame) => boolean, what: string, timeoutMs: number): Promise<Frame> {
    let waiter: Waiter | undefined
    const found = new Promise<Frame>((done) => {
      waiter = { match, done }
      this.waiters.push(waiter)
    })
    return withTimeout(found, timeoutMs, `no ${what}`).finally(() => {
      this.waiters = this.waiters.filter((w) => w !== waiter)
    })
  }

  terminate(): void {
    this.ws.terminate()
  }

  private receive(frame: Frame): void {
    // Recorded first, so the acknowledgement's own cost is not in the measured latency.
    this.onFrame(frame)
    if (this.waiters.length > 0) {
      for (const waiter of this.waiters.filter((w) => w.match(frame))) waiter.done(frame)
    }
    if (
      (frame.type === 'message' || frame.type === 'system') &&
      typeof frame.messageId === 'string'
    ) {
      this.send({ type: 'ack', messageIds: [frame.messageId] })
    }
  }
}

/** Runs `task` over `items` with at most `limit` in flight; bounded by the item count. */
export async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      results[index] = await task(items[index], index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
