import type { Participant } from '../../domain/shared/participant'
import type { Doc } from '../../infra/readmodel/port'

/** A row of the pending-acknowledgement view, as its projection writes it. */
export interface PendingRow {
  messageId: string
  conversationId: string
  seq: number
  recipient: Participant
  recipientKey: string
  pushes: number
  lastPushAt: number | null
  nextDueAt: number | null
  abandoned: boolean
}

const ROW_PREFIX = 'pending_acks/'

/**
 * An in-memory copy of the pending-acknowledgement view, kept by running the view's own pure
 * projection over the live log. It is a Map (what the projection helper writes into) that also
 * indexes rows by recipient and by conversation, so a reconnect or an event finds its rows
 * without a scan.
 */
export class PendingMirror extends Map<string, Doc> {
  private readonly byRecipient = new Map<string, Set<string>>()
  private readonly byConversation = new Map<string, Set<string>>()

  override set(key: string, doc: Doc): this {
    if (key.startsWith(ROW_PREFIX) && !super.has(key)) {
      const row = doc as unknown as PendingRow
      addTo(this.byRecipient, row.recipientKey, key)
      addTo(this.byConversation, row.conversationId, key)
    }
    return super.set(key, doc)
  }

  override delete(key: string): boolean {
    const doc = super.get(key) as unknown as PendingRow | undefined
    if (doc && key.startsWith(ROW_PREFIX)) {
      removeFrom(this.byRecipient, doc.recipientKey, key)
      removeFrom(this.byConversation, doc.conversationId, key)
    }
    return super.delete(key)
  }

  row(key: string): PendingRow | undefined {
    return super.get(key) as unknown as PendingRow | undefined
  }

  /** Rows for one recipient, ordered by conversation and then seq. */
  rowsFor(recipientKey: string): [string, PendingRow][] {
    return this.collect(this.byRecipient.get(recipientKey)).sort(
      ([, a], [, b]) => compareIds(a.conversationId, b.conversationId) || a.seq - b.seq,
    )
  }

  /** Rows of one conversation in seq order. */
  rowsOfConversation(conversationId: string): [string, PendingRow][] {
    return this.collect(this.byConversation.get(conversationId)).sort(
      ([, a], [, b]) => a.seq - b.seq,
    )
  }

  private collect(keys: Set<string> | undefined): [string, PendingRow][] {
    return [...(keys ?? [])].map((k) => [k, this.row(k) as PendingRow])
  }
}

export const rowKey = (messageId: string, recipientKey: string): string =>
  `${ROW_PREFIX}${messageId}|${recipientKey}`

function addTo(index: Map<string, Set<string>>, key: string, value: string): void {
  const set = index.get(key)
  if (set) set.add(value)
  else index.set(key, new Set([value]))
}

function removeFrom(index: Map<string, Set<string>>, key: string, value: string): void {
  const set = index.get(key)
  if (!set) return
  set.delete(value)
  if (set.size === 0) index.delete(key)
}

/** Orders decimal id strings numerically (snowflakes differ in length across eras). */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}
