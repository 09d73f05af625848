import { BehaviorSubject, Subject, type Observable } from 'rxjs'
import type { ErrorFrame, ServerFrame } from '../domain/protocol/frames'
import { reconnectDelay } from './backoff'
import { createClientMsgId } from './client-msg-id'
import { Connection } from './connection'
import { ClientError, ClientErrorCode } from './errors'
import { HttpApi } from './http-api'
import { Inbox } from './inbox'
import { itemFromHistory } from './items'
import { resolveOptions, type ParleyClientOptions, type ResolvedOptions } from './options'
import { Outbox, type OutboxEntry } from './outbox'
import { Persistence } from './persistence'
import { tokenParticipant } from './token'
import type { ChatItem, ConnectionStatus, OutgoingMessage, Participant, SendInput } from './types'

/** The events `on()` takes, with what each hands to its callback. */
export interface ClientEvents {
  item: ChatItem
  status: ConnectionStatus
  outgoing: readonly OutgoingMessage[]
  error: ClientError
}

const publicCopy = ({ deadlineAt: _d, autoConversation: _a, ...rest }: OutboxEntry) =>
  ({ ...rest }) as OutgoingMessage

/**
 * A Parley client for browsers and Node: one socket kept up with heartbeats and reconnects, a
 * pending list that resends under the same clientMsgId until `sent`, and per-conversation
 * delivery in seq order, exactly once, with gaps filled over HTTP. See docs/client.md.
 */
export class ParleyClient {
  private readonly options: ResolvedOptions
  private readonly itemsSubject = new Subject<ChatItem>()
  private readonly statusSubject = new BehaviorSubject<ConnectionStatus>('idle')
  private readonly outgoingSubject = new BehaviorSubject<readonly OutgoingMessage[]>([])
  private readonly errorsSubject = new Subject<ClientError>()

  /** Each message and notice once, in seq order per conversation. Subscribe before `start()`. */
  readonly items$: Observable<ChatItem> = this.itemsSubject.asObservable()
  /** The connection's status; replays the current one to a new subscriber. */
  readonly status$: Observable<ConnectionStatus> = this.statusSubject.asObservable()
  /** Own sends not yet confirmed: pending and failed, oldest first; replays the current list. */
  readonly outgoing$: Observable<readonly OutgoingMessage[]> = this.outgoingSubject.asObservable()
  /** Server `error` frames and faults of the SDK (history fetches, unreadable frames). */
  readonly errors$: Observable<ClientError> = this.errorsSubject.asObservable()

  private readonly http: HttpApi
  private readonly inbox: Inbox
  private readonly outbox: Outbox
  private readonly connection: Connection
  private persistence: Persistence | undefined
  private self: Participant | undefined
  private lastToken: string | undefined
  private firstToken: string | undefined
  private initialised = false
  private initFailures = 0
  private bootTimer: unknown
  private closes: { conversationId: string; resolve(): void; reject(err: Error): void }[] = []

  constructor(options: ParleyClientOptions) {
    this.options = resolveOptions(options)
    const o = this.options
    if (typeof o.token === 'string') this.self = tokenParticipant(o.token)

    this.http = new HttpApi({
      baseUrl: o.baseUrl,
      fetch: o.fetch,
      clock: o.clock,
      timeoutMs: o.requestTimeoutMs,
      token: async () => this.lastToken ?? this.nextToken(),
      ...(typeof o.token === 'function' && { refreshToken: () => this.nextToken() }),
    })
    this.inbox = new Inbox({
      options: o,
      http: this.http,
      write: (frame) => this.connection.send(frame),
      self: () => this.self,
      emit: (item) => this.itemsSubject.next(item),
      changed: () => this.persist(),
      report: (err) => this.report(err),
    })
    this.outbox = new Outbox({
      clock: o.clock,
      resendAfterMs: o.resendAfterMs,
      failAfterMs: o.failAfterMs,
      maxInFlight: o.maxInFlight,
      write: (frame) => this.connection.send(frame),
      currentConversation: () => this.inbox.currentConversation(),
      conversationClosed: (id) => this.inbox.conversationClosed(id),
      onChange: () => this.outboxChanged(),
      onConfirmed: (entry, frame) => this.inbox.confirmed(entry, frame),
    })
    this.connection = new Connection({
      options: o,
      token: () => this.connectToken(),
      refuses: (token) => this.http.refuses(token),
      onStatus: (status) => this.setStatus(status),
      onOpen: () => this.opened(),
      onDown: () => this.outbox.disconnected(),
      onFrame: (frame) => this.received(frame),
      onFault: (err) => this.report(err),
    })
  }

  /** Connects, and keeps reconnecting until `close()`. After `unauthorized`, tries again. */
  start(): void {
    const status = this.statusSubject.value
    if (status === 'closed') throw new Error('this client is closed; make a new one')
    if (status !== 'idle' && status !== 'unauthorized') return
    this.setStatus('connecting')
    void this.boot()
  }

  /** Stops for good: acks still waiting go out if the socket is open, then it closes. */
  async close(): Promise<void> {
    if (this.statusSubject.value === 'closed') return
    this.options.clock.clearTimeout(this.bootTimer)
    this.inbox.stop()
    this.outbox.stop()
    this.connection.stop()
    for (const pending of this.closes.splice(0)) {
      pending.reject(new ClientError(ClientErrorCode.Closed, 'client closed'))
    }
    this.setStatus('closed')
    this.itemsSubject.complete()
    this.errorsSubject.complete()
    this.outgoingSubject.complete()
    this.statusSubject.complete()
  }

  /** Drops the socket and connects again after the usual backoff, e.g. on the `online` event. */
  reconnect(): void {
    this.connection.recycle()
  }

  /** Queues a message under a new clientMsgId; it is resent until confirmed or failed. */
  send(input: SendInput): OutgoingMessage {
    if (this.statusSubject.value === 'closed') {
      throw new ClientError(ClientErrorCode.Closed, 'this client is closed')
    }
    const content = input?.content as unknown
    if (content === null || typeof content !== 'object' || Array.isArray(content)) {
      throw new TypeError('send() needs content: an object with a format')
    }
    if (this.self?.role === 'agent' && !input.conversationId) {
      throw new TypeError('an agent must name the conversationId')
    }
    return publicCopy(this.outbox.add(createClientMsgId(), input.content, input.conversationId))
  }

  /** A failed send goes pending again under the same key, with a fresh `failAfterMs` window. */
  retry(clientMsgId: string): void {
    this.outbox.retry(clientMsgId)
  }

  /** Forgets a failed send. */
  discard(clientMsgId: string): void {
    this.outbox.discard(clientMsgId)
  }

  /**
   * Sends `close` for a conversation (once a socket is open). Resolves when the frame is
   * written: the proof of the close is the `closed` notice on `items$` (admins get none).
   */
  closeConversation(conversationId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.statusSubject.value === 'closed') {
        return reject(new ClientError(ClientErrorCode.Closed, 'client closed'))
      }
      this.closes.push({ conversationId, resolve, reject })
      this.flushCloses()
    })
  }

  /** Catches a conversation up from its contiguous mark, now and after every reconnect. */
  follow(conversationId: string): void {
    this.inbox.follow(conversationId)
  }

  /** Stops catching a conversation up on reconnect (pushes for it are still delivered). */
  unfollow(conversationId: string): void {
    this.inbox.unfollow(conversationId)
  }

  /** A conversation's timeline after `afterSeq` (default 0), all pages; not put on `items$`. */
  async history(conversationId: string, afterSeq = 0): Promise<ChatItem[]> {
    const items: ChatItem[] = []
    const limit = this.options.historyPageSize
    for (let after = afterSeq; ;) {
      const page = await this.http.historyPage(conversationId, after, limit)
      for (const entry of page) {
        const item = itemFromHistory(conversationId, entry, this.self)
        if (item) items.push(item)
      }
      if (page.length < limit) return items
      after = page[page.length - 1].seq
    }
  }

  /** An authenticated JSON call to the HTTP API, e.g. `api('/v1/conversations?status=open')`. */
  api<T>(path: string, init?: RequestInit): Promise<T> {
    return this.http.request<T>(path, init)
  }

  /** The same as the observables, as callbacks; each returns its unsubscribe function. */
  on<E extends keyof ClientEvents>(event: E, fn: (value: ClientEvents[E]) => void): () => void {
    const sources = {
      item: this.items$,
      status: this.status$,
      outgoing: this.outgoing$,
      error: this.errors$,
    } as { [K in keyof ClientEvents]: Observable<ClientEvents[K]> }
    const subscription = sources[event].subscribe(fn)
    return () => subscription.unsubscribe()
  }

  /** The participant the token names, once known. */
  get participant(): Participant | undefined {
    return this.self
  }

  /** The current connection status. */
  get status(): ConnectionStatus {
    return this.statusSubject.value
  }

  /** Reads the first token (for the identity and storage key), restores storage, connects. */
  private async boot(): Promise<void> {
    if (!this.initialised) {
      try {
        this.firstToken = await this.nextToken()
      } catch (err) {
        // The provider may be offline for a moment: try again like a failed connection.
        this.report(err)
        const delay = reconnectDelay(
          this.initFailures++,
          this.options.reconnect,
          this.options.random,
        )
        this.setStatus('reconnecting')
        this.bootTimer = this.options.clock.setTimeout(() => void this.boot(), delay)
        return
      }
      if (this.statusSubject.value === 'closed') return
      this.initialised = true
      this.self ??= tokenParticipant(this.firstToken)
      this.restore()
    }
    if (this.statusSubject.value !== 'closed') this.connection.start()
  }

  private restore(): void {
    const { storage, storageKey, logger } = this.options
    if (!storage) return
    const key = storageKey ?? `parley:${this.self?.role ?? 'unknown'}:${this.self?.id ?? 'unknown'}`
    this.persistence = new Persistence(storage, key, logger)
    const saved = this.persistence.load()
    if (saved) {
      this.inbox.restore(saved.conversations)
      this.outbox.restore(saved.outgoing)
    }
    this.persist()
  }

  private async nextToken(): Promise<string> {
    const source = this.options.token
    const token = typeof source === 'string' ? source : await source()
    this.lastToken = token
    return token
  }

  /** The first connection reuses the token read at start; every later one asks again. */
  private connectToken(): Promise<string> {
    const first = this.firstToken
    this.firstToken = undefined
    return first !== undefined ? Promise.resolve(first) : this.nextToken()
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.statusSubject.value === status || this.statusSubject.value === 'closed') return
    this.statusSubject.next(status)
  }

  private opened(): void {
    this.outbox.connected()
    this.inbox.opened()
    this.flushCloses()
  }

  private received(frame: ServerFrame): void {
    switch (frame.type) {
      case 'sent':
        return this.outbox.confirmed(frame)
      case 'message':
      case 'system':
        return this.inbox.pushed(frame)
      case 'error':
        return this.refused(frame)
      default:
        // Heartbeat answers only prove the socket alive; unknown types are ignored (compat).
        return
    }
  }

  private refused(frame: ErrorFrame): void {
    this.options.logger.info({ code: frame.code, clientMsgId: frame.clientMsgId }, 'frame refused')
    this.outbox.refused(frame)
    const details = frame.clientMsgId !== undefined ? { clientMsgId: frame.clientMsgId } : {}
    this.report(new ClientError(String(frame.code), String(frame.message), details))
  }

  private flushCloses(): void {
    while (this.closes.length > 0) {
      const next = this.closes[0]
      if (!this.connection.send({ type: 'close', conversationId: next.conversationId })) return
      this.closes.shift()
      next.resolve()
    }
  }

  private outboxChanged(): void {
    this.outgoingSubject.next(this.outbox.list().map(publicCopy))
    this.persist()
  }

  private persist(): void {
    this.persistence?.save(this.outbox.list(), this.inbox.marks())
  }

  private report(err: unknown): void {
    const error =
      err instanceof ClientError
        ? err
        : new ClientError(ClientErrorCode.Network, err instanceof Error ? err.message : String(err))
    this.options.logger.debug({ code: error.code }, 'client error')
    if (!this.errorsSubject.closed) this.errorsSubject.next(error)
  }
}
