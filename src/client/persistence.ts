import type { OutboxEntry } from './outbox'
import type { ConversationMark } from './timeline'
import type { ClientLogger, KeyValueStorage } from './types'

/** Most conversations kept in storage; the oldest-known are dropped first. */
export const STORED_CONVERSATIONS_LIMIT = 500

/** What survives a reload: the pending list and each conversation's contiguous mark. */
export interface SavedState {
  v: 1
  outgoing: OutboxEntry[]
  conversations: Record<string, ConversationMark>
}

/**
 * The client's state in a key-value storage under one key, written in full on every change (a
 * pending send must be on disk before its frame goes out). Unreadable data is logged and
 * ignored rather than failing the client.
 */
export class Persistence {
  constructor(
    private readonly storage: KeyValueStorage,
    private readonly key: string,
    private readonly log: ClientLogger,
  ) {}

  load(): SavedState | undefined {
    let raw: string | null
    try {
      raw = this.storage.getItem(this.key)
    } catch (err) {
      this.log.warn({ err, key: this.key }, 'storage unreadable')
      return undefined
    }
    if (raw === null) return undefined
    try {
      const state = JSON.parse(raw) as SavedState
      if (
        state?.v !== 1 ||
        !Array.isArray(state.outgoing) ||
        typeof state.conversations !== 'object'
      ) {
        throw new TypeError('unknown shape')
      }
      return state
    } catch (err) {
      this.log.warn({ err, key: this.key }, 'stored state ignored')
      return undefined
    }
  }

  save(outgoing: OutboxEntry[], conversations: Record<string, ConversationMark>): void {
    const ids = Object.keys(conversations)
    const kept =
      ids.length <= STORED_CONVERSATIONS_LIMIT
        ? conversations
        : Object.fromEntries(
            ids.slice(-STORED_CONVERSATIONS_LIMIT).map((id) => [id, conversations[id]]),
          )
    const state: SavedState = { v: 1, outgoing, conversations: kept }
    try {
      this.storage.setItem(this.key, JSON.stringify(state))
    } catch (err) {
      this.log.warn({ err, key: this.key }, 'storage write failed')
    }
  }
}
