import WebSocket from 'ws'

export type Frame = Record<string, unknown> & { type: string }

/** Default time a test waits for a frame before failing with a message saying what it awaited. */
export const DEFAULT_WAIT_MS = 5000

/**
 * A test client over a real socket: it records every frame, and `next` awaits the first frame
 * (not yet taken) that matches, or fails after a timeout naming what did not arrive. No sleeps.
 */
export class TestClient {
  readonly frames: Frame[] = []
  /** `Date.now()` at each frame's arrival, by the frame's index in `frames`. */
  readonly receivedAt: number[] = []
  private ackFilter: ((f: Frame) => boolean) | null = null
  private taken = new Set<number>()
  private waiters: (() => void)[] = []
  closed: { code: number; reason: string } | null = null
  private closedWaiters: (() => void)[] = []

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame
      this.frames.push(frame)
      this.receivedAt.push(Date.now())
      if (this.ackFilter && isPush(frame) && this.ackFilter(frame)) this.ack([frame.messageId])
      for (const w of this.waiters.splice(0)) w()
    })
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) }
      for (const w of [...this.closedWaiters.splice(0), ...this.waiters.splice(0)]) w()
    })
  }

  /** Opens a socket with `?token=`; rejects with the HTTP status when the upgrade is refused. */
  static connect(
    url: string,
    token?: string,
    options: WebSocket.ClientOptions = {},
  ): Promise<TestClient> {
    const target =
      token === undefined ? `${url}/ws` : `${url}/ws?token=${encodeURIComponent(token)}`
    const socket = new WebSocket(target, options)
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestClient(socket)))
      socket.once('unexpected-response', (_req, res) =>
        reject(
          Object.assign(new Error(`upgrade refused: ${res.statusCode}`), {
            status: res.statusCode,
          }),
        ),
      )
      socket.once('error', reject)
    })
  }

  send(frame: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(frame))
  }

  sendRaw(data: string | Buffer, options: { binary?: boolean } = {}): void {
    this.socket.send(data, { binary: options.binary ?? false })
  }

  /** The next untaken frame matching `match` (by type, or a predicate). */
  async next(match: string | ((f: Frame) => boolean), timeoutMs = DEFAULT_WAIT_MS): Promise<Frame> {
    const test = typeof match === 'string' ? (f: Frame) => f.type === match : match
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = this.frames.findIndex((f, i) => !this.taken.has(i) && test(f))
      if (index !== -1) {
        this.taken.add(index)
        return this.frames[index]
      }
      if (this.closed)
        throw new Error(`socket closed (${this.closed.code}) before ${describe(match)}`)
      const left = deadline - Date.now()
      if (left <= 0) {
        throw new Error(
          `no ${describe(match)} within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`,
        )
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Sends and awaits the `sent` (or `error`) frame for this clientMsgId. */
  async sendMessage(frame: {
    clientMsgId: string
    conversationId?: string
    content: unknown
  }): Promise<Frame> {
    this.send({ type: 'send', ...frame })
    return this.next(
      (f) => (f.type === 'sent' || f.type === 'error') && f.clientMsgId === frame.clientMsgId,
    )
  }

  /** Acknowledges pushed messages or notices by id. */
  ack(messageIds: string[]): void {
    this.send({ type: 'ack', messageIds })
  }

  /**
   * Acknowledges every pushed `message` or `system` frame that `filter` accepts (default: all)
   * as it arrives, and those already received; replaces an earlier filter.
   */
  autoAck(filter: (f: Frame) => boolean = () => true): void {
    this.ackFilter = filter
    const due = this.frames.filter((f): f is PushedFrame => isPush(f) && filter(f))
    if (due.length > 0) this.ack([...new Set(due.map((f) => f.messageId))])
  }

  stopAutoAck(): void {
    this.ackFilter = null
  }

  /** Every push of one message or notice received so far, re-pushes included, in arrival order. */
  pushesOf(messageId: string): PushedFrame[] {
    return this.frames.filter((f): f is PushedFrame => isPush(f) && f.messageId === messageId)
  }

  /**
   * A heartbeat round trip. The socket answers frames in order, so once the reply is here every
   * frame sent before it was handled, and the connection is registered on the server.
   */
  async roundTrip(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    const before = this.frames.length
    this.send({ type: 'heartbeat' })
    await this.next((f) => f.type === 'heartbeat' && this.frames.indexOf(f) >= before, timeoutMs)
  }

  /** Drops the connection without a close handshake, as a lost network would. */
  terminate(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.socket.terminate()
    return this.waitClosed().then(() => undefined)
  }

  /** Awaits the socket's close and returns its code and reason. */
  async waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<{ code: number; reason: string }> {
    if (this.closed) return this.closed
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`socket not closed within ${timeoutMs} ms`)),
        timeoutMs,
      )
      this.closedWaiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
    return this.closed as unknown as { code: number; reason: string }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.socket.close()
    return this.waitClosed().then(() => undefined)
  }
}

/** A `message` or `system` frame: something the server pushes and wants acknowledged. */
export type PushedFrame = Frame & { type: 'message' | 'system'; messageId: string; seq: number }

export function isPush(f: Frame): f is PushedFrame {
  return (f.type === 'message' || f.type === 'system') && typeof f.messageId === 'string'
}

function describe(match: string | ((f: Frame) => boolean)): string {
  return typeof match === 'string' ? `'${match}' frame` : 'matching frame'
}

/**
 * Awaits a condition that no frame announces (a registry or read model catching up), checking
 * it every few milliseconds; fails after `timeoutMs` (default DEFAULT_WAIT_MS) naming `what`.
 */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
