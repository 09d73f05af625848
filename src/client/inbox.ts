import type { AckFrame, MessageFrame, SentFrame, SystemFrame } from '../domain/protocol/frames'
import { Acker } from './acker'
import { CatchUp } from './catch-up'
import { ClientError, ClientErrorCode } from './errors'
import type { HttpApi, HistoryEntry } from './http-api'
import { itemFromHistory, itemFromPush, itemFromSent } from './items'
import type { ResolvedOptions } from './options'
import type { OutboxEntry } from './outbox'
import { Timeline, type ConversationMark } from './timeline'
import type { ChatItem, Participant } from './types'

export interface InboxDeps {
  options: ResolvedOptions
  http: HttpApi
  /** Writes an ack frame; false when no socket is open. */
  write(frame: AckFrame): boolean
  /** The participant the token names, once known. */
  self(): Participant | undefined
  /** Hands an item to the app; returns once the app's subscribers have it. */
  emit(item: ChatItem): void
  /** Something the storage holds changed. */
  changed(): void
  report(err: unknown): void
}

/**
 * The receiving half: pushes, own confirmed sends and history pages all go through one
 * Timeline, so each item reaches the app once and in seq order; it is acknowledged only after
 * that. Gaps are fetched over HTTP after a short wait, and every known conversation is caught
 * up from its contiguous mark after each connect.
 */
export class Inbox {
  private readonly timeline: Timeline
  private readonly acker: Acker
  private readonly catchUp: CatchUp
  private readonly unfollowed = new Set<string>()
  /** Conversations the server called closed before their `closed` notice arrived. */
  private readonly closedHints = new Set<string>()
  private lastConversation: string | undefined

  constructor(private readonly deps: InboxDeps) {
    const { options } = deps
    this.timeline = new Timeline((item) => this.deliver(item))
    this.acker = new Acker({ clock: options.clock, delayMs: options.ackDelayMs, write: deps.write })
    this.catchUp = new CatchUp({
      clock: options.clock,
      log: options.logger,
      pageSize: options.historyPageSize,
      page: (id, afterSeq, limit) => deps.http.historyPage(id, afterSeq, limit),
      mark: (id) => this.timeline.mark(id),
      ingest: (id, entries) => this.ingestHistory(id, entries),
      wanted: (id) => this.wanted(id),
      hasGap: (id) => this.timeline.hasGap(id),
      unreadable: (id, err) => this.unreadable(id, err),
      onError: (err) => deps.report(err),
    })
  }

  marks(): Record<string, ConversationMark> {
    return this.timeline.marks()
  }

  restore(marks: Record<string, ConversationMark>): void {
    this.timeline.restore(marks)
  }

  /** A socket opened: acks that waited go out, and every followed conversation catches up. */
  opened(): void {
    this.acker.flush()
    for (const id of this.timeline.ids()) {
      if (this.wanted(id)) this.catchUp.request(id, 0)
    }
  }

  stop(): void {
    this.acker.flush()
    this.acker.stop()
    this.catchUp.stop()
  }

  follow(conversationId: string): void {
    this.unfollowed.delete(conversationId)
    this.timeline.know(conversationId)
    this.deps.changed()
    this.catchUp.request(conversationId, 0)
  }

  unfollow(conversationId: string): void {
    this.unfollowed.add(conversationId)
  }

  pushed(frame: MessageFrame | SystemFrame): void {
    const item = itemFromPush(frame, this.deps.self())
    if (!item) {
      return this.deps.report(new ClientError(ClientErrorCode.BadResponse, 'push without ids'))
    }
    this.lastConversation = item.conversationId
    // A duplicate means our earlier ack was lost or late: acknowledge it again.
    if (!this.timeline.ingest(item)) this.acker.add(item.messageId)
    this.afterIngest(item.conversationId)
  }

  /** An own send confirmed: an own item at its seq, so the seq counts for contiguity. */
  confirmed(entry: OutboxEntry, frame: SentFrame): void {
    this.lastConversation = frame.conversationId
    this.timeline.ingest(itemFromSent(frame, entry.content, this.deps.self()))
    this.afterIngest(frame.conversationId)
  }

  /** A user's current open conversation as far as the client knows, for sends to name. */
  currentConversation(): string | undefined {
    const id = this.lastConversation
    if (this.deps.self()?.role !== 'user' || id === undefined) return undefined
    return this.timeline.isClosed(id) || this.closedHints.has(id) ? undefined : id
  }

  conversationClosed(conversationId: string): void {
    this.closedHints.add(conversationId)
  }

  /** The app holds the item once `emit` returns: only then is it acked and the mark stored. */
  private deliver(item: ChatItem): void {
    this.deps.emit(item)
    if (!item.own) this.acker.add(item.messageId)
    this.deps.changed()
  }

  private ingestHistory(conversationId: string, entries: HistoryEntry[]): void {
    for (const entry of entries) {
      const item = itemFromHistory(conversationId, entry, this.deps.self())
      if (item) this.timeline.ingest(item)
    }
  }

  private afterIngest(conversationId: string): void {
    if (this.timeline.hasGap(conversationId)) {
      this.catchUp.request(conversationId, this.deps.options.gapFillDelayMs, true)
    }
  }

  private wanted(conversationId: string): boolean {
    if (this.timeline.hasGap(conversationId)) return true
    return !this.unfollowed.has(conversationId) && !this.timeline.isClosed(conversationId)
  }

  /** History refused (403/404): holding the items forever would lose them, so they go now. */
  private unreadable(conversationId: string, err: ClientError): void {
    this.unfollowed.add(conversationId)
    if (!this.timeline.hasGap(conversationId)) return
    this.timeline.release(conversationId)
    const message = `history refused: ${err.code}`
    this.deps.report(
      new ClientError(ClientErrorCode.GapUnfilled, message, { status: err.status, conversationId }),
    )
  }
}
