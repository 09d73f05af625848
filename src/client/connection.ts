import type { ServerFrame } from '../domain/protocol/frames'
import { reconnectDelay } from './backoff'
import { ClientError, ClientErrorCode } from './errors'
import type { ResolvedOptions } from './options'
import type { ConnectionStatus, WebSocketLike } from './types'

/** WebSocket.OPEN, spelled out because `ws` and the DOM both define it on the class only. */
const OPEN = 1

const ignore = (): void => {}

export interface ConnectionDeps {
  options: ResolvedOptions
  /** The token for the next connection attempt. */
  token(): Promise<string>
  /** Whether the server refuses this token (asked after a socket failed before opening). */
  refuses(token: string): Promise<boolean>
  onStatus(status: ConnectionStatus): void
  onOpen(): void
  onDown(): void
  onFrame(frame: ServerFrame): void
  /** A frame that is not a JSON object with a type, or a socket that could not be made. */
  onFault(err: ClientError): void
}

/**
 * One socket at a time, kept up until `stop()`: heartbeats from the moment it opens, a socket
 * that answers nothing after a beat is taken for dead, and a lost socket is replaced after a
 * capped, fully jittered backoff. A socket that fails before opening has its token checked over
 * HTTP, because a browser cannot see the upgrade's 401: a refused token ends in `unauthorized`.
 */
export class Connection {
  private socket: WebSocketLike | undefined
  private running = false
  /** Counts start()s, so an attempt still awaiting its token after a stop() gives up. */
  private generation = 0
  private attempt = 0
  private everOpened = false
  private timers = new Set<unknown>()
  private beatTimer: unknown
  private deadTimer: unknown

  constructor(private readonly deps: ConnectionDeps) {}

  get isOpen(): boolean {
    return this.socket !== undefined && this.socket.readyState === OPEN
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.generation += 1
    this.attempt = 0
    void this.connect()
  }

  stop(): void {
    this.running = false
    for (const timer of this.timers) this.deps.options.clock.clearTimeout(timer)
    this.timers.clear()
    this.drop(1000, 'client closed', false)
  }

  /** Writes a frame if the socket is open; false otherwise (the caller keeps it for later). */
  send(frame: object): boolean {
    if (!this.isOpen) return false
    this.socket!.send(JSON.stringify(frame))
    return true
  }

  /** Abandons the current socket and reconnects, e.g. when the network changed. */
  recycle(): void {
    if (this.socket) this.drop(1000, 'recycled', true)
  }

  private after(ms: number, fn: () => void): unknown {
    const { clock } = this.deps.options
    const timer = clock.setTimeout(() => {
      this.timers.delete(timer)
      fn()
    }, ms)
    this.timers.add(timer)
    return timer
  }

  private cancel(timer: unknown): void {
    if (timer === undefined) return
    this.deps.options.clock.clearTimeout(timer)
    this.timers.delete(timer)
  }

  private async connect(): Promise<void> {
    const { options } = this.deps
    const generation = this.generation
    this.deps.onStatus(this.everOpened || this.attempt > 0 ? 'reconnecting' : 'connecting')
    let token: string
    try {
      token = await this.deps.token()
    } catch (err) {
      options.logger.warn({ err }, 'token provider failed')
      return this.retryLater()
    }
    if (!this.running || generation !== this.generation) return

    const url = `${options.baseUrl.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`
    let socket: WebSocketLike
    try {
      socket = new options.WebSocket(url)
    } catch (err) {
      this.deps.onFault(new ClientError(ClientErrorCode.Network, `no socket: ${String(err)}`))
      return this.retryLater()
    }
    this.socket = socket
    let opened = false
    const connectTimer = this.after(options.connectTimeoutMs, () => {
      options.logger.info({ attempt: this.attempt }, 'socket did not open in time')
      this.drop(1000, 'connect timeout', true)
    })

    socket.onopen = () => {
      opened = true
      this.everOpened = true
      this.cancel(connectTimer)
      this.deps.onStatus('open')
      this.scheduleBeat()
      this.deps.onOpen()
    }
    socket.onmessage = (event: { data: unknown }) => this.received(event.data)
    socket.onerror = (event: { message?: string }) => {
      options.logger.debug({ message: event?.message }, 'socket error')
    }
    socket.onclose = (event: { code?: number; reason?: string }) => {
      if (this.socket !== socket) return
      this.cancel(connectTimer)
      options.logger.info({ code: event?.code, reason: event?.reason }, 'socket closed')
      this.lost()
      if (!this.running) return
      if (opened) return this.retryLater()
      void this.checkToken(token, generation)
    }
  }

  private received(data: unknown): void {
    this.cancel(this.deadTimer)
    this.deadTimer = undefined
    let frame: ServerFrame
    try {
      frame = JSON.parse(String(data)) as ServerFrame
    } catch {
      return this.unreadable()
    }
    if (frame === null || typeof frame !== 'object' || typeof frame.type !== 'string') {
      return this.unreadable()
    }
    // A heartbeat answer proves a working socket: only then does the backoff start over, so a
    // server that accepts and drops at once is not hammered.
    if (frame.type === 'heartbeat') this.attempt = 0
    this.deps.onFrame(frame)
  }

  private unreadable(): void {
    this.deps.onFault(new ClientError(ClientErrorCode.BadResponse, 'unreadable frame'))
  }

  private scheduleBeat(): void {
    const { options } = this.deps
    this.beatTimer = this.after(options.heartbeatIntervalMs, () => {
      if (!this.send({ type: 'heartbeat' })) return
      if (this.deadTimer === undefined) {
        this.deadTimer = this.after(options.heartbeatTimeoutMs, () => {
          options.logger.info({}, 'no answer to heartbeat')
          this.deadTimer = undefined
          this.drop(1000, 'heartbeat unanswered', true)
        })
      }
      this.scheduleBeat()
    })
  }

  private async checkToken(token: string, generation: number): Promise<void> {
    const refused = await this.deps.refuses(token)
    if (!this.running || generation !== this.generation) return
    if (!refused) return this.retryLater()
    this.running = false
    this.deps.options.logger.info({}, 'token refused')
    this.deps.onStatus('unauthorized')
  }

  private retryLater(): void {
    if (!this.running) return
    const { options } = this.deps
    const delay = reconnectDelay(this.attempt, options.reconnect, options.random)
    this.attempt += 1
    this.deps.onStatus('reconnecting')
    this.after(delay, () => {
      if (this.running) void this.connect()
    })
  }

  /** Forget the socket at once (a dead network may take long to finish a close handshake). */
  private drop(code: number, reason: string, reconnect: boolean): void {
    const socket = this.socket
    if (!socket) return
    // No-ops rather than null: `ws` throws an 'error' event that has no listener at all.
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = ignore
    try {
      socket.close(code, reason)
    } catch {
      // A socket still connecting may refuse close(); it is abandoned either way.
    }
    this.lost()
    if (reconnect) this.retryLater()
  }

  private lost(): void {
    const wasUp = this.socket !== undefined
    this.socket = undefined
    this.cancel(this.beatTimer)
    this.cancel(this.deadTimer)
    this.beatTimer = this.deadTimer = undefined
    if (wasUp) this.deps.onDown()
  }
}
