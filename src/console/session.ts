import { ParleyClient, type ChatItem, type ConnectionStatus, type OutgoingMessage } from '../client'
import { Timeline } from './timeline'

/** What a page knows about its side of the chat, redrawn on every change. */
export interface SessionView {
  status: ConnectionStatus
  outgoing: readonly OutgoingMessage[]
  timeline: Timeline
  /** The last error not about one send (those show on the send), until the socket reopens. */
  lastError: { code: string; message: string } | null
  /** Bumped on every change, so a page can tell one view from the next. */
  version: number
}

/**
 * One ParleyClient for a page, with what the page draws from it: the timeline (each item once),
 * the pending and failed sends and the connection status. Listeners hear about every change;
 * pages add their own reactions (a new conversation, a closed one) through `onItem`.
 */
export class ChatSession {
  readonly client: ParleyClient
  readonly view: SessionView = {
    status: 'idle',
    outgoing: [],
    timeline: new Timeline(),
    lastError: null,
    version: 0,
  }
  private readonly listeners = new Set<() => void>()
  private readonly itemListeners = new Set<(item: ChatItem) => void>()
  private readonly followed = new Set<string>()
  private readonly unsubscribe: (() => void)[] = []

  constructor(token: string, baseUrl: string = location.origin) {
    this.client = new ParleyClient({ baseUrl, token, storage: tabStorage() })
    this.unsubscribe.push(
      this.client.on('item', (item) => {
        if (!this.view.timeline.add(item)) return
        this.follow(item.conversationId)
        for (const listener of this.itemListeners) listener(item)
        this.changed()
      }),
      this.client.on('status', (status) => {
        this.view.status = status
        if (status === 'open') this.view.lastError = null
        this.changed()
      }),
      this.client.on('outgoing', (outgoing) => {
        this.view.outgoing = outgoing
        this.changed()
      }),
      this.client.on('error', (error) => {
        // A refused send shows on the message itself, with Retry.
        if (error.clientMsgId !== undefined) return
        this.view.lastError = { code: error.code, message: error.message }
        this.changed()
      }),
    )
  }

  start(): void {
    this.client.start()
  }

  async close(): Promise<void> {
    for (const stop of this.unsubscribe.splice(0)) stop()
    await this.client.close()
  }

  /**
   * Shows a conversation, once per page load: the SDK follows it from its stored contiguous
   * mark, and the history before that mark is read once over HTTP. The SDK keeps the mark
   * across reloads for apps that keep their items; this page keeps none, so without the
   * backfill a reload would show only what came after it.
   */
  follow(conversationId: string): void {
    if (this.followed.has(conversationId)) return
    this.followed.add(conversationId)
    this.client.follow(conversationId)
    this.client.history(conversationId, 0).then(
      (items) => {
        let added = false
        for (const item of items) added = this.view.timeline.add(item) || added
        if (added) this.changed()
      },
      (err: unknown) => this.report('history_failed', err),
    )
  }

  /** Calls `listener` after every change; returns the way to stop. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Calls `listener` for each new item, after it joined the timeline. */
  onItem(listener: (item: ChatItem) => void): () => void {
    this.itemListeners.add(listener)
    return () => this.itemListeners.delete(listener)
  }

  /** Own sends still pending or failed in a conversation (or, with undefined, not yet placed). */
  outgoingIn(conversationId: string | undefined): OutgoingMessage[] {
    return this.view.outgoing.filter(
      (m) =>
        m.state !== 'sent' &&
        m.conversationId === conversationId &&
        !(m.messageId && this.view.timeline.has(m.messageId)),
    )
  }

  /** Shows a page-side failure (a history read, a close) in the status bar. */
  report(code: string, err: unknown): void {
    this.view.lastError = { code, message: err instanceof Error ? err.message : String(err) }
    this.changed()
  }

  changed(): void {
    this.view.version += 1
    for (const listener of this.listeners) listener()
  }
}

/**
 * The tab's sessionStorage, or none where the browser refuses it (storage disabled): the page
 * still works, only pending sends no longer survive a reload. Per tab on purpose: the SDK writes
 * its whole state under one key, so two tabs of one person sharing localStorage would overwrite
 * each other's pending sends. sessionStorage survives a reload of its tab and no other tab
 * writes it; the trade-off is that a send still pending when its tab is closed is not sent.
 */
export function tabStorage(): Storage | undefined {
  try {
    return window.sessionStorage
  } catch {
    return undefined
  }
}
