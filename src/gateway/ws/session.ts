import { randomUUID } from 'node:crypto'
import type { WebSocket } from 'ws'
import { validateContent } from '../../domain/content/validate'
import { CloseReason } from '../../domain/conversation/events'
import { DisconnectReason } from '../../domain/presence/events'
import { HEARTBEAT_TIMEOUT_CLOSE } from '../../projections/presence/presence-monitor'
import type {
  AckFrame,
  ClientFrame,
  CloseFrame,
  SendFrame,
  ServerFrame,
} from '../../domain/protocol/frames'
import { DomainError, ErrorCode } from '../../domain/shared/errors'
import { Role, type Participant } from '../../domain/shared/participant'
import type { Principal } from '../../infra/auth/tokens'
import type { Connection } from '../connections/registry'
import type { GatewayServices } from '../services'
import { clientMsgIdOf, parseClientFrame } from './frame-parser'
import { TokenBucket } from './rate-limiter'

/** Past this many unsent bytes the peer is not reading; the socket is closed (1013). */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024
/** Close codes the server uses (besides ws's own 1007 and 1009). */
export const CloseCode = { TryAgainLater: 1013, ServerShutdown: 1001 } as const

/**
 * One client's socket: frames in, in order, one at a time (so one socket's sends take seqs in
 * the order sent), and frames out. A bad frame gets an `error` frame and the socket stays open;
 * only a faulty transport (too large, not UTF-8, a peer not reading) closes it.
 */
export class ClientSession implements Connection {
  readonly id = randomUUID()
  lastBeatAt: number
  private readonly who: Participant
  private disconnect: Promise<void> | undefined
  private closeReason: DisconnectReason = DisconnectReason.Closed
  private readonly bucket: TokenBucket
  private inbox: Promise<void> = Promise.resolve()

  constructor(
    private readonly socket: WebSocket,
    readonly participant: Principal,
    private readonly services: GatewayServices,
  ) {
    const { rateLimit } = services.config
    this.who = { role: participant.role, id: participant.id }
    this.lastBeatAt = services.clock.now()
    this.bucket = new TokenBucket(rateLimit.perSecond, rateLimit.burst, this.lastBeatAt)
  }

  /**
   * Logs with this connection's fields. Not a pino child per socket: a child keeps its serialized
   * bindings for the socket's life, about a kilobyte each across 10,000 idle connections, for
   * lines written only when something goes wrong or the socket closes.
   */
  private log(level: 'info' | 'error', fields: Record<string, unknown>, msg: string): void {
    const { role, id } = this.who
    this.services.logger[level]({ connectionId: this.id, role, who: id, ...fields }, msg)
  }

  /**
   * Registers the connection, records it on the person's presence (the opening counts as a
   * heartbeat) and starts delivering; call once, right after the upgrade. An agent's seats from
   * the token are recorded on their desk; coming online and new seats both make the dispatcher
   * look at the queue again.
   */
  open(): void {
    const { registry, delivery, desks, presence } = this.services
    const who = { role: this.participant.role, id: this.participant.id }
    this.socket.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary))
    this.socket.on('close', (code) => this.closed(code))
    this.socket.on('error', (err) => this.log('info', { err }, 'socket error'))

    registry.add(this)
    // The token's seats are recorded before the connection: once it is, the agent is online and
    // any node's dispatcher may hand out conversations, which must count against these seats,
    // not against the default an agent without recorded seats has.
    const seats = this.participant.seats
    const seatsRecorded =
      this.participant.role === Role.Agent && seats !== undefined
        ? desks.setSeats(who.id, seats).catch((err: unknown) => {
            this.log('error', { err }, 'agent seats not recorded')
          })
        : Promise.resolve()
    void seatsRecorded
      .then(() => presence.connect(who, this.id))
      .catch((err: unknown) => {
        this.log('error', { err }, 'connection not recorded')
      })
    void delivery.connected(who, this)
  }

  send(frame: ServerFrame): void {
    if (this.socket.readyState !== this.socket.OPEN) return
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.log('info', { buffered: this.socket.bufferedAmount }, 'peer not reading, closing')
      this.socket.close(CloseCode.TryAgainLater, 'not reading')
      return
    }
    this.socket.send(JSON.stringify(frame))
  }

  /** Closes from the server's side and records the disconnect at once, not after the handshake. */
  close(code: number, reason: string): void {
    if (code === HEARTBEAT_TIMEOUT_CLOSE.code) this.closeReason = DisconnectReason.HeartbeatTimeout
    if (code === CloseCode.ServerShutdown) this.closeReason = DisconnectReason.ServerShutdown
    this.socket.close(code, reason)
    void this.recordDisconnect()
  }

  /**
   * Closes for a server shutdown and records the disconnect now, without waiting for the
   * client's close handshake, so that it is stored before the stores close.
   */
  shutdown(): Promise<void> {
    this.close(CloseCode.ServerShutdown, 'server shutting down')
    return this.recordDisconnect()
  }

  private closed(code: number): void {
    this.services.registry.remove(this)
    this.log('info', { code, reason: this.closeReason }, 'socket closed')
    void this.recordDisconnect()
  }

  /** Records the end of this connection on the person's presence, once. */
  private recordDisconnect(): Promise<void> {
    this.disconnect ??= this.services.presence.disconnect(this.who, this.id, this.closeReason).then(
      () => undefined,
      (err: unknown) => this.log('info', { err }, 'disconnect not recorded'),
    )
    return this.disconnect
  }

  private receive(data: Buffer, isBinary: boolean): void {
    // Over the limit: refused at once, so a flood is never buffered.
    if (!this.bucket.take(this.services.clock.now())) {
      const clientMsgId = isBinary ? undefined : clientMsgIdOf(data.toString('utf8'))
      this.reject(new DomainError(ErrorCode.RateLimited, 'too many frames, slow down'), clientMsgId)
      return
    }

    // Parsed on arrival, so that a heartbeat counts when it arrives, not when the frames queued
    // before it have been handled.
    const frame = this.parse(data, isBinary)
    if (frame instanceof DomainError) {
      const clientMsgId = isBinary ? undefined : clientMsgIdOf(data.toString('utf8'))
      this.inbox = this.inbox.then(() => this.reject(frame, clientMsgId))
      return
    }
    if (frame.type === 'heartbeat') this.lastBeatAt = this.services.clock.now()

    // Everything is answered in the order it came, errors included.
    this.inbox = this.inbox.then(() => this.handle(frame))
  }

  private parse(data: Buffer, isBinary: boolean): ClientFrame | DomainError {
    if (isBinary) return new DomainError(ErrorCode.BadFrame, 'frames must be JSON text')
    try {
      return parseClientFrame(data.toString('utf8'))
    } catch (err) {
      if (err instanceof DomainError) return err
      throw err
    }
  }

  private async handle(frame: ClientFrame): Promise<void> {
    try {
      switch (frame.type) {
        case 'send':
          return await this.onSend(frame)
        case 'ack':
          return await this.onAck(frame)
        case 'heartbeat':
          return await this.onHeartbeat()
        case 'close':
          return await this.onClose(frame)
      }
    } catch (err) {
      this.reject(err, frame.type === 'send' ? frame.clientMsgId : undefined)
    }
  }

  private async onSend(frame: SendFrame): Promise<void> {
    const content = validateContent(frame.content)
    const { role, id } = this.participant
    if (role === Role.Admin)
      throw new DomainError(ErrorCode.Forbidden, 'admins do not send messages')

    const result = await this.services.conversations.send(
      { role, id },
      { clientMsgId: frame.clientMsgId, conversationId: frame.conversationId, content },
    )
    const { conversationId, messageId, seq, sentAt } = result
    this.send({
      type: 'sent',
      clientMsgId: frame.clientMsgId,
      messageId,
      conversationId,
      seq,
      sentAt,
    })
  }

  /** Liveness is the application heartbeat's (a frozen page still answers WebSocket pings). */
  private async onHeartbeat(): Promise<void> {
    // A beat still queued when the socket closed must not open the connection again.
    if (this.socket.readyState !== this.socket.OPEN || this.disconnect) return
    await this.services.presence.beat(this.who, this.id)
    this.send({ type: 'heartbeat' })
  }

  private async onAck(frame: AckFrame): Promise<void> {
    const { role, id } = this.participant
    const byConversation = new Map<string, string[]>()
    const wanted = new Set(frame.messageIds)
    for (const row of this.services.delivery.pendingFor({ role, id })) {
      if (!wanted.has(row.messageId)) continue
      byConversation.set(row.conversationId, [
        ...(byConversation.get(row.conversationId) ?? []),
        row.messageId,
      ])
    }
    for (const [conversationId, messageIds] of byConversation) {
      await this.services.conversations.acknowledge({ role, id }, conversationId, messageIds)
    }
  }

  private async onClose(frame: CloseFrame): Promise<void> {
    const { role, id } = this.participant
    const reason = role === Role.Admin ? CloseReason.AdminClosed : CloseReason.AgentClosed
    await this.services.conversations.close({ role, id }, frame.conversationId, reason)
  }

  /** Answers a refused frame; a fault of ours is logged and reported without its details. */
  private reject(err: unknown, clientMsgId?: string): void {
    if (err instanceof DomainError) {
      this.log('info', { code: err.code, clientMsgId }, 'frame refused')
      this.send({
        type: 'error',
        code: err.code,
        message: err.message,
        ...(clientMsgId && { clientMsgId }),
      })
      return
    }
    this.log('error', { err, clientMsgId }, 'frame failed')
    this.send({
      type: 'error',
      code: ErrorCode.Internal,
      message: 'the server could not process this frame; retry it',
      ...(clientMsgId && { clientMsgId }),
    })
  }
}
