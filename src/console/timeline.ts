import type { ChatItem } from '../client'

/**
 * The messages and notices a page shows, per conversation, each once (by messageId) and in
 * `seq` order. The SDK already drops repeats; holding items by id here as well means the page
 * can never draw one twice, whatever mix of pushes, history pages and reloads brought them.
 */
export class Timeline {
  private readonly byConversation = new Map<string, Map<string, ChatItem>>()
  private readonly ids = new Set<string>()

  /** Adds an item unless one with its messageId is held; says whether it was new. */
  add(item: ChatItem): boolean {
    if (this.ids.has(item.messageId)) return false

    this.ids.add(item.messageId)
    let items = this.byConversation.get(item.conversationId)
    if (!items) {
      items = new Map()
      this.byConversation.set(item.conversationId, items)
    }
    items.set(item.messageId, item)
    return true
  }

  has(messageId: string): boolean {
    return this.ids.has(messageId)
  }

  /** A conversation's items in seq order (empty for one never seen). */
  items(conversationId: string): ChatItem[] {
    const items = [...(this.byConversation.get(conversationId)?.values() ?? [])]
    return items.sort((a, b) => a.seq - b.seq)
  }

  /** Every conversation held, oldest first (by its first item's time). */
  conversationIds(): string[] {
    const first = (id: string) => this.items(id)[0]?.sentAt ?? 0
    return [...this.byConversation.keys()].sort((a, b) => first(a) - first(b))
  }

  /** Whether a `closed` notice is held for the conversation. */
  isClosed(conversationId: string): boolean {
    return this.items(conversationId).some((i) => i.kind === 'system' && i.event === 'closed')
  }
}

/**
 * Messages from the other side not yet seen: those after both the last one the viewer sent and
 * the last seq the viewer had on screen. Kept in memory only, so after a reload "unread" means
 * "not answered yet", which needs no storage.
 */
export function unreadCount(items: readonly ChatItem[], viewedSeq = 0): number {
  let lastOwn = 0
  for (const item of items) if (item.own && item.seq > lastOwn) lastOwn = item.seq
  const since = Math.max(lastOwn, viewedSeq)
  return items.filter((i) => i.kind === 'message' && !i.own && i.seq > since).length
}
