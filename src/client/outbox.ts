import type { ErrorFrame, SendFrame, SentFrame } from '../domain/protocol/frames'
import { ClientErrorCode, isRetryableCode } from './errors'
import type { Clock, Content, OutgoingMessage } from './types'

/** An own send as the outbox keeps it (and as storage holds it). */
export interface OutboxEntry extends OutgoingMessage {
  /** The SDK, not the app, chose the conversation: on `conversation_closed` it may drop it. */
  autoConversation?: boolean
  /** When the send is marked failed unless confirmed (client clock). */
  deadlineAt: number
}

export interface OutboxDeps {
  clock: Clock
  resendAfterMs: number
  failAfterMs: number
  maxInFlight: number
  /** Writes a frame; false when no socket is open. */
  write(frame: SendFrame): boolean
  /** A user's current open conversation, if known: retries must name it (docs/protocol.md). */
  currentConversation(): string | undefined
  /** The server said this conversation is closed: stop filling it in. */
  conversationClosed(conversationId: string): void
  onChange(): void
  onConfirmed(entry: OutboxEntry, frame: SentFrame): void
}

/**
 * The pending list. Each send waits here under its clientMsgId until its `sent`; it goes out
 * again with the same key after `resendAfterMs`, after a retryable error and after each
 * reconnect, in the order the app sent them, at most `maxInFlight` unanswered at once. After
 * `failAfterMs` without `sent`, or on a final error code, it is failed until `retry()`.
 */
export class Outbox {
  private readonly entries = new Map<string, OutboxEntry>()
  /** clientMsgId -> time of the last write on the current socket. */
  private readonly inFlight = new Map<string, number>()
  private timer: unknown

  constructor(private readonly deps: OutboxDeps) {}

  add(clientMsgId: string, content: Content, conversationId?: string): OutboxEntry {
    const now = this.deps.clock.now()
    const entry: OutboxEntry = {
      clientMsgId,
      content,
      state: 'pending',
      firstSentAt: now,
      attempts: 0,
      deadlineAt: now + this.deps.failAfterMs,
      ...(conversationId !== undefined && { conversationId }),
    }
    this.entries.set(clientMsgId, entry)
    this.changed()
    this.pump()
    return entry
  }

  /** Entries from storage, older than anything added since: they go first, with a new window. */
  restore(saved: OutboxEntry[]): void {
    const now = this.deps.clock.now()
    const current = [...this.entries.values()]
    this.entries.clear()
    for (const entry of saved) {
      if (entry.state === 'sent') continue
      const deadlineAt = entry.state === 'pending' ? now + this.deps.failAfterMs : entry.deadlineAt
      this.entries.set(entry.clientMsgId, { ...entry, deadlineAt })
    }
    for (const entry of current) this.entries.set(entry.clientMsgId, entry)
    this.changed()
    this.pump()
  }

  /** Pending and failed sends, oldest first. */
  list(): OutboxEntry[] {
    return [...this.entries.values()]
  }

  get(clientMsgId: string): OutboxEntry | undefined {
    return this.entries.get(clientMsgId)
  }

  /** A new socket: everything pending goes out again, in order. */
  connected(): void {
    this.inFlight.clear()
    this.pump()
  }

  disconnected(): void {
    this.inFlight.clear()
  }

  confirmed(frame: SentFrame): void {
    const entry = this.entries.get(frame.clientMsgId)
    if (!entry) return
    this.entries.delete(frame.clientMsgId)
    this.inFlight.delete(frame.clientMsgId)
    const done: OutboxEntry = {
      ...entry,
      state: 'sent',
      conversationId: frame.conversationId,
      messageId: frame.messageId,
      seq: frame.seq,
    }
    delete done.error
    this.deps.onConfirmed(done, frame)
    this.changed()
    this.pump()
  }

  /** An `error` frame naming one of our sends. True when it was ours. */
  refused(frame: ErrorFrame): boolean {
    const entry = frame.clientMsgId ? this.entries.get(frame.clientMsgId) : undefined
    if (!entry || entry.state !== 'pending') return entry !== undefined
    this.inFlight.delete(entry.clientMsgId)

    if (isRetryableCode(frame.code)) {
      // Stays pending, counted as written now: the timer sends it again after resendAfterMs.
      this.inFlight.set(entry.clientMsgId, this.deps.clock.now())
    } else if (frame.code === 'conversation_closed' && entry.autoConversation) {
      // The retry check runs before the closed check on the server, so the message is not in
      // that conversation: sent without an id it opens the user's next one.
      this.deps.conversationClosed(entry.conversationId!)
      delete entry.conversationId
      delete entry.autoConversation
    } else {
      this.fail(entry, frame.code, frame.message)
    }
    this.changed()
    this.pump()
    return true
  }

  retry(clientMsgId: string): void {
    const entry = this.entries.get(clientMsgId)
    if (!entry || entry.state !== 'failed') return
    entry.state = 'pending'
    delete entry.error
    entry.deadlineAt = this.deps.clock.now() + this.deps.failAfterMs
    this.changed()
    this.pump()
  }

  discard(clientMsgId: string): void {
    const entry = this.entries.get(clientMsgId)
    if (!entry || entry.state !== 'failed') return
    this.entries.delete(clientMsgId)
    this.changed()
  }

  stop(): void {
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Writes what is due, fails what is overdue, and sets the timer for the next of either. */
  pump(): void {
    const now = this.deps.clock.now()
    let changed = false
    let writable = true
    for (const entry of this.entries.values()) {
      if (entry.state !== 'pending') continue
      if (now >= entry.deadlineAt) {
        this.fail(entry, ClientErrorCode.SendTimeout, 'not confirmed in time')
        changed = true
        continue
      }
      const lastWrite = this.inFlight.get(entry.clientMsgId)
      const due = lastWrite === undefined || now - lastWrite >= this.deps.resendAfterMs
      if (!due || !writable) continue
      if (lastWrite === undefined && this.inFlight.size >= this.deps.maxInFlight) continue
      if (this.write(entry, now)) changed = true
      else writable = false
    }
    if (changed) this.changed()
    this.schedule(now)
  }

  private write(entry: OutboxEntry, now: number): boolean {
    if (entry.conversationId === undefined) {
      const current = this.deps.currentConversation()
      if (current !== undefined) {
        entry.conversationId = current
        entry.autoConversation = true
      }
    }
    const frame: SendFrame = {
      type: 'send',
      clientMsgId: entry.clientMsgId,
      content: entry.content,
      ...(entry.conversationId !== undefined && { conversationId: entry.conversationId }),
    }
    if (!this.deps.write(frame)) return false
    entry.attempts += 1
    this.inFlight.set(entry.clientMsgId, now)
    return true
  }

  private fail(entry: OutboxEntry, code: string, message: string): void {
    entry.state = 'failed'
    entry.error = { code, message }
    this.inFlight.delete(entry.clientMsgId)
  }

  private schedule(now: number): void {
    this.stop()
    let next = Infinity
    for (const entry of this.entries.values()) {
      if (entry.state !== 'pending') continue
      next = Math.min(next, entry.deadlineAt)
      const lastWrite = this.inFlight.get(entry.clientMsgId)
      if (lastWrite !== undefined) next = Math.min(next, lastWrite + this.deps.resendAfterMs)
    }
    if (next === Infinity) return
    this.timer = this.deps.clock.setTimeout(
      () => {
        this.timer = undefined
        this.pump()
      },
      Math.max(0, next - now),
    )
  }

  private changed(): void {
    this.deps.onChange()
  }
}
