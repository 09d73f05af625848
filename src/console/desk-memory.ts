/** The part of `Storage` the desk memory uses; `sessionStorage` in the browser. */
export type DeskStorage = Pick<Storage, 'getItem' | 'setItem'>

/** Most conversations whose viewed mark is kept; the least recently viewed are dropped first. */
export const DESK_MEMORY_LIMIT = 200

interface Saved {
  v: 1
  selected: string | null
  /** The highest seq the agent had on screen, per conversation, least recently viewed first. */
  viewed: [conversationId: string, seq: number][]
}

/**
 * What the agent page remembers across a reload of its tab: the chosen conversation and, per
 * conversation, the last seq the agent had on screen (what unread counts start after). It lives
 * in the same per-tab storage as the SDK's state, under its own key; without a storage, or with
 * unreadable data, it starts empty and the page works as before, from memory.
 */
export class DeskMemory {
  private selectedId: string | null = null
  private readonly viewed = new Map<string, number>()

  constructor(
    private readonly storage: DeskStorage | undefined,
    private readonly key: string,
  ) {
    const saved = this.load()
    if (!saved) return
    this.selectedId = saved.selected
    for (const [id, seq] of saved.viewed) this.viewed.set(id, seq)
  }

  /** The conversation chosen last, or null. */
  selected(): string | null {
    return this.selectedId
  }

  select(conversationId: string): void {
    if (conversationId === this.selectedId) return
    this.selectedId = conversationId
    this.save()
  }

  /** The highest seq the agent had on screen in a conversation, if any. */
  viewedSeq(conversationId: string): number | undefined {
    return this.viewed.get(conversationId)
  }

  /** Records what is on screen; a mark only moves forward. */
  markViewed(conversationId: string, seq: number): void {
    const known = this.viewed.get(conversationId)
    if (known !== undefined && known >= seq) return

    this.viewed.delete(conversationId)
    this.viewed.set(conversationId, seq)
    while (this.viewed.size > DESK_MEMORY_LIMIT) {
      this.viewed.delete(this.viewed.keys().next().value as string)
    }
    this.save()
  }

  private load(): Saved | undefined {
    try {
      const raw = this.storage?.getItem(this.key)
      if (!raw) return undefined
      const saved = JSON.parse(raw) as Saved
      const fits =
        saved?.v === 1 &&
        (saved.selected === null || typeof saved.selected === 'string') &&
        Array.isArray(saved.viewed) &&
        saved.viewed.every(
          (e) => Array.isArray(e) && typeof e[0] === 'string' && Number.isInteger(e[1]),
        )
      return fits ? saved : undefined
    } catch {
      // Storage refused or data unreadable: start from nothing, as a first visit does.
      return undefined
    }
  }

  private save(): void {
    const saved: Saved = { v: 1, selected: this.selectedId, viewed: [...this.viewed] }
    try {
      this.storage?.setItem(this.key, JSON.stringify(saved))
    } catch {
      // A full or refused storage costs only the memory across reloads.
    }
  }
}
