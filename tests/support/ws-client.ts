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
  private taken = new Set<number>()
  private waiters: (() => void)[] = []
  closed: { code: number; reason: string } | null = null
  private closedWaiters: (() => void)[] = []

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame)
      for (const w of this.waiters.splice(0)) w()
    })
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) }
      for (const w of [...this.closedWaiters.splice(0), ...this.waiters.splice(0)]) w()
    })
  }

  /** Opens a socket with `?token=`; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string, token?: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const target = token === undefined ? `${url}/ws` : `${url}/ws?token=${encodeURIComponent(token)}`
    const socket = new WebSocket(target, options)
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestClient(socket)))
      socket.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })),
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
      if (this.closed) throw new Error(`socket closed (${this.closed.code}) before ${describe(match)}`)
      const left = deadline - Date.now()
      if (left <= 0) {
        throw new Error(`no ${describe(match)} within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`)
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
  async sendMessage(frame: { clientMsgId: string; conversationId?: string; content: unknown }): Promise<Frame> {
    this.send({ type: 'send', ...frame })
    return this.next((f) => (f.type === 'sent' || f.type === 'error') && f.clientMsgId === frame.clientMsgId)
  }

  /** Awaits the socket's close and returns its code and reason. */
  async waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<{ code: number; reason: string }> {
    if (this.closed) return this.closed
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs)
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

function describe(match: string | ((f: Frame) => boolean)): string {
  return typeof match === 'string' ? `'${match}' frame` : 'matching frame'
}
