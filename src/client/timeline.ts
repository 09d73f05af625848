import type { ChatItem } from './types'

/** How many delivered messageIds are remembered for duplicate checks above the marks. */
export const SEEN_IDS_LIMIT = 10_000

/** What the client knows of one conversation. */
export interface ConversationMark {
  /** The highest seq delivered with no gap below it (the contiguous high-water mark). */
  mark: number
  /** A `closed` notice was delivered: nothing more will come, catch-up skips it. */
  closed: boolean
}

interface Conversation extends ConversationMark {
  /** Items past a gap, by seq, waiting for the gap to fill. */
  held: Map<number, ChatItem>
}

/**
 * Per-conversation ordering: every item goes in, each comes out once, in seq order. An item
 * past a gap is held back until the gap is filled (by a late push, a `sent`, or history). An
 * item is a duplicate when its seq is at or below the mark, is already held, or its messageId
 * was delivered recently.
 */
export class Timeline {
  private readonly conversations = new Map<string, Conversation>()
  private readonly seen = new Set<string>()

  constructor(private readonly deliver: (item: ChatItem) => void) {}

  /** Conversations known, with their marks, for storage. */
  marks(): Record<string, ConversationMark> {
    const out: Record<string, ConversationMark> = {}
    for (const [id, c] of this.conversations) out[id] = { mark: c.mark, closed: c.closed }
    return out
  }

  ids(): string[] {
    return [...this.conversations.keys()]
  }

  /** Marks from storage: never lowers a mark already higher in memory. */
  restore(marks: Record<string, ConversationMark>): void {
    for (const [id, saved] of Object.entries(marks)) {
      const c = this.conversation(id)
      c.mark = Math.max(c.mark, saved.mark)
      c.closed = c.closed || saved.closed
    }
  }

  /** Learn of a conversation (from `follow()`, a `sent` or a push). */
  know(conversationId: string): void {
    this.conversation(conversationId)
  }

  forget(conversationId: string): void {
    this.conversations.delete(conversationId)
  }

  mark(conversationId: string): number {
    return this.conversations.get(conversationId)?.mark ?? 0
  }

  isClosed(conversationId: string): boolean {
    return this.conversations.get(conversationId)?.closed ?? false
  }

  /** True when items wait behind a gap. */
  hasGap(conversationId: string): boolean {
    return (this.conversations.get(conversationId)?.held.size ?? 0) > 0
  }

  /** Takes an item; returns false for a duplicate. Delivers whatever became contiguous. */
  ingest(item: ChatItem): boolean {
    const c = this.conversation(item.conversationId)
    if (item.seq <= c.mark || c.held.has(item.seq) || this.seen.has(item.messageId)) return false
    c.held.set(item.seq, item)
    this.drain(c)
    return true
  }

  /**
   * Delivers everything held, in seq order, over the gap: for a gap that cannot be filled
   * (history refused), where holding forever would lose the items instead.
   */
  release(conversationId: string): void {
    const c = this.conversations.get(conversationId)
    if (!c || c.held.size === 0) return
    c.mark = Math.min(...c.held.keys()) - 1
    this.drain(c)
    if (c.held.size > 0) this.release(conversationId)
  }

  private drain(c: Conversation): void {
    for (let next = c.held.get(c.mark + 1); next; next = c.held.get(c.mark + 1)) {
      c.held.delete(next.seq)
      c.mark = next.seq
      if (next.kind === 'system' && next.event === 'closed') c.closed = true
      this.remember(next.messageId)
      this.deliver(next)
    }
  }

  private remember(messageId: string): void {
    this.seen.add(messageId)
    if (this.seen.size <= SEEN_IDS_LIMIT) return
    const oldest = this.seen.values().next().value
    if (oldest !== undefined) this.seen.delete(oldest)
  }

  private conversation(id: string): Conversation {
    let c = this.conversations.get(id)
    if (!c) {
      c = { mark: 0, closed: false, held: new Map() }
      this.conversations.set(id, c)
    }
    return c
  }
}
