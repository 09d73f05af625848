import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs'
import type { ConversationEvent } from '../../domain/conversation/events'
import type { DeliveryPolicy } from '../../domain/delivery/backoff'
import type { PushFrame } from '../../domain/protocol/frames'
import { participantKey, type Participant } from '../../domain/shared/participant'
import { StreamCategory } from '../../domain/shared/streams'
import type { ConversationCommands } from '../../infra/commands/conversation-commands'
import { KeyedQueue } from '../../infra/commands/keyed-queue'
import type { EventStore, RecordedEvent } from '../../infra/eventstore/port'
import { silentLogger, type Logger } from '../../infra/logging/logger'
import type { ReadModelStore } from '../../infra/readmodel/port'
import { followLog } from '../follow-log'
import { docId, POSITION_FIELD } from '../projection'
import { pendingAcksProjection } from '../readmodels/pending-acks'
import { FrameCache } from './frame-cache'
import { PendingMirror, type PendingRow } from './pending-mirror'
import type { ChannelDirectory, PushChannel } from './push-channel'

export interface DeliveryManagerDeps {
  events: EventStore
  readModels: ReadModelStore
  commands: ConversationCommands
  channels: ChannelDirectory
  policy: DeliveryPolicy
  /** Timers and "now"; a TestScheduler or VirtualTimeScheduler in tests. Default asyncScheduler. */
  scheduler?: SchedulerLike
  logger?: Logger
}

/**
 * The delivery process manager: pushes every stored message and notice to its recipients'
 * connections on this node, and re-pushes what is not acknowledged in time.
 *
 * It follows the global log and keeps the pending-acknowledgement view in memory by running the
 * view's own projection (PendingMirror). At start it loads the stored view and replays the log
 * after the view's checkpoint, so its timers are rebuilt from durable state and a restart loses
 * no re-push. Every push is recorded as a MessagePushed event and the giving-up as PushAbandoned,
 * decided by the conversation aggregate, so two nodes holding the same recipient cannot both
 * count one re-push.
 *
 * Pushes to one recipient run one after another (a KeyedQueue per person): a reconnect's
 * catch-up is sent in seq order before any live message that arrives meanwhile.
 */
export class DeliveryManager {
  private readonly mirror = new PendingMirror()
  private readonly frames: FrameCache
  private readonly timers = new Map<string, { dueAt: number; timer: Subscription }>()
  private readonly queue = new KeyedQueue()
  private readonly firstPushInFlight = new Set<string>()
  private readonly scheduler: SchedulerLike
  private readonly log: Logger
  private subscription: Subscription | null = null
  private position = 0n
  private replayedUpTo = 0n

  constructor(private readonly deps: DeliveryManagerDeps) {
    this.frames = new FrameCache(deps.events)
    this.scheduler = deps.scheduler ?? asyncScheduler
    this.log = (deps.logger ?? silentLogger).child({ component: 'delivery' })
  }

  /** Loads the stored pending view, then follows the log from the view's checkpoint. */
  async start(): Promise<void> {
    const { readModels } = this.deps
    const checkpoint = (await readModels.checkpoint(pendingAcksProjection.name)) ?? 0n
    for (const spec of pendingAcksProjection.collections) {
      for (const doc of await readModels.find({ collection: spec.name })) {
        this.mirror.set(docId(spec.name, keyOf(spec.name, doc)), doc)
      }
    }

    // Events up to here were handled before the restart: replaying them must not push again.
    this.replayedUpTo = await this.deps.events.headPosition()
    this.subscription = followLog(
      this.deps.events,
      { after: checkpoint, categories: [StreamCategory.Conversation] },
      (event) => this.onEvent(event),
      this.log,
    )
    for (const [key, row] of this.allRows()) this.schedule(key, row)
  }

  async stop(): Promise<void> {
    this.subscription?.unsubscribe()
    for (const { timer } of this.timers.values()) timer.unsubscribe()
    this.timers.clear()
  }

  /** The global position of the last event this manager has applied. */
  lastPosition(): bigint {
    return this.position
  }

  /**
   * A connection of `who` opened: push it everything still unacknowledged for that person, in
   * seq order per conversation. Given-up messages are left to the history endpoint.
   */
  connected(who: Participant, channel: PushChannel): Promise<void> {
    const recipientKey = participantKey(who)
    return this.queue.run(recipientKey, async () => {
      for (const [key, row] of this.mirror.rowsFor(recipientKey)) {
        if (row.abandoned || row.pushes >= this.deps.policy.maxAttempts) continue
        if (this.firstPushInFlight.has(key)) continue
        await this.guard({ key }, async () => {
          const frame = await this.frames.get(row.conversationId, row.messageId)
          const pushed = await this.deps.commands.recordPush(
            row.conversationId,
            row.messageId,
            row.recipient,
            'reconnect',
          )
          if (pushed && frame) channel.send(frame)
        })
      }
    })
  }

  /** Pending rows this node knows of for one person (for tests and the admin API). */
  pendingFor(who: Participant): PendingRow[] {
    return this.mirror.rowsFor(participantKey(who)).map(([, row]) => {
      const { [POSITION_FIELD]: _stamp, ...rest } = row as PendingRow & Record<string, unknown>
      return rest as unknown as PendingRow
    })
  }

  private onEvent(recorded: RecordedEvent): void {
    this.position = recorded.position
    const event = { type: recorded.type, data: recorded.data } as ConversationEvent
    this.frames.remember(event)
    this.applyToMirror(recorded)

    const conversationId = (event.data as { conversationId: string }).conversationId
    for (const [key, row] of this.mirror.rowsOfConversation(conversationId)) {
      if (row.pushes > 0 || row.abandoned) this.schedule(key, row)
      else if (recorded.position > this.replayedUpTo) this.firstPush(key, row)
    }
    if (event.type === 'MessageAcknowledged' || event.type === 'PushAbandoned') {
      const { messageId, recipient } = event.data
      this.cancel(`pending_acks/${messageId}|${participantKey(recipient)}`)
    }
  }

  /**
   * Runs the pending view's projection over the mirror with the runner's rule: a change to a
   * document already stamped at or after the event is dropped. The stored view loaded at start
   * may be ahead of the checkpoint it was read with, and its events are then replayed here.
   */
  private applyToMirror(event: RecordedEvent): void {
    const read = (collection: string, key: string) => {
      const found = this.mirror.get(docId(collection, key))
      if (!found) return undefined
      const { [POSITION_FIELD]: _stamp, ...doc } = found
      return doc
    }
    for (const { collection, key, doc } of pendingAcksProjection.apply(event, read)) {
      const id = docId(collection, key)
      const stamp = this.mirror.get(id)?.[POSITION_FIELD]
      if (typeof stamp === 'string' && BigInt(stamp) >= event.position) continue
      if (doc === null) this.mirror.delete(id)
      else this.mirror.set(id, { ...doc, [POSITION_FIELD]: String(event.position) })
    }
  }

  /** A new message or notice: push to every connection of the recipient, then record it. */
  private firstPush(key: string, row: PendingRow): void {
    if (this.firstPushInFlight.has(key)) return
    if (this.deps.channels.channelsOf(row.recipient).length === 0) return

    this.firstPushInFlight.add(key)
    void this.queue.run(row.recipientKey, () =>
      this.guard({ key }, async () => {
        try {
          const frame = await this.frames.get(row.conversationId, row.messageId)
          // The row may have been pushed, acknowledged or given up on while this waited.
          const current = this.mirror.row(key)
          if (!current || current.pushes > 0 || current.abandoned) return
          if (frame) this.sendToAll(row.recipient, frame)
          await this.deps.commands.recordPush(
            row.conversationId,
            row.messageId,
            row.recipient,
            'first',
          )
        } finally {
          this.firstPushInFlight.delete(key)
        }
      }),
    )
  }

  /** Arms the row's timer for its due time; a row whose due time did not change keeps its timer. */
  private schedule(key: string, row: PendingRow, dueAt = row.nextDueAt): void {
    if (row.abandoned || dueAt === null) return this.cancel(key)
    if (this.timers.get(key)?.dueAt === dueAt) return

    this.cancel(key)
    const delay = Math.max(0, dueAt - this.scheduler.now())
    const timer = this.scheduler.schedule(() => {
      this.timers.delete(key)
      void this.queue.run(row.recipientKey, () => this.due(key))
    }, delay)
    this.timers.set(key, { dueAt, timer })
  }

  private cancel(key: string): void {
    this.timers.get(key)?.timer.unsubscribe()
    this.timers.delete(key)
  }

  /** A push went unacknowledged for its wait: push again, or give up after the last one. */
  private async due(key: string): Promise<void> {
    const row = this.mirror.row(key)
    if (!row || row.abandoned) return

    const { commands, policy } = this.deps
    const ok = await this.guard({ key }, async () => {
      // Giving up needs no connection: it is only recorded.
      if (row.pushes >= policy.maxAttempts) {
        const gaveUp = await commands.abandonPush(row.conversationId, row.messageId, row.recipient)
        if (gaveUp)
          this.log.info({ messageId: row.messageId, attempts: row.pushes }, 'push abandoned')
        return
      }
      // With no connection here there is no one to push to; a reconnect catches the person up.
      if (this.deps.channels.channelsOf(row.recipient).length === 0) return
      const frame = await this.frames.get(row.conversationId, row.messageId)
      const pushed = await commands.recordPush(
        row.conversationId,
        row.messageId,
        row.recipient,
        'due',
      )
      if (pushed && frame) this.sendToAll(row.recipient, frame)
    })
    // A failed step (the store refused a write) is tried again after one more ack timeout.
    if (!ok) this.schedule(key, row, this.scheduler.now() + policy.ackTimeoutMs)
  }

  private sendToAll(recipient: Participant, frame: PushFrame): void {
    for (const channel of this.deps.channels.channelsOf(recipient)) channel.send(frame)
  }

  private *allRows(): Iterable<[string, PendingRow]> {
    for (const key of this.mirror.keys()) {
      const row = this.mirror.row(key)
      if (key.startsWith('pending_acks/') && row) yield [key, row]
    }
  }

  /** Runs one delivery step; a failure is logged and retried by the next timer or reconnect. */
  private async guard(
    fields: Record<string, unknown>,
    step: () => Promise<void>,
  ): Promise<boolean> {
    try {
      await step()
      return true
    } catch (err) {
      this.log.warn({ ...fields, err }, 'delivery step failed')
      return false
    }
  }
}

/** The key of a pending view document, rebuilt from its fields. */
function keyOf(collection: string, doc: Record<string, unknown>): string {
  if (collection === 'pending_acks') {
    const r = doc.recipient as Participant
    return `${String(doc.messageId)}|${participantKey(r)}`
  }
  return String(doc.conversationId)
}
