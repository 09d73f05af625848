import { asyncScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs'
import { CloseReason } from '../../domain/conversation/events'
import type { PersonLeft } from '../../domain/presence/events'
import { DEFAULT_PRESENCE_TICK_MS, type PresenceThresholds } from '../../domain/presence/thresholds'
import { Role, type Participant } from '../../domain/shared/participant'
import { StreamCategory } from '../../domain/shared/streams'
import type { ConversationCommands } from '../../infra/commands/conversation-commands'
import type { DeskCommands } from '../../infra/commands/desk-commands'
import type { PresenceCommands } from '../../infra/commands/presence-commands'
import type { EventStore, RecordedEvent } from '../../infra/eventstore/port'
import { silentLogger, type Logger } from '../../infra/logging/logger'
import type { ReadModelStore } from '../../infra/readmodel/port'
import { followLog } from '../follow-log'
import { listConversations } from '../queries'
import { PRESENCE, type PresenceDoc } from '../readmodels/presence'

/** How often superseded heartbeat events are pruned from a store that supports it. */
export const HEARTBEAT_PRUNE_EVERY_MS = 60_000
/** WebSocket close code and reason for a connection that stopped beating. */
export const HEARTBEAT_TIMEOUT_CLOSE = { code: 4000, reason: 'heartbeat timeout' } as const
/** The checkpoint under which the monitor remembers which departures it has acted on. */
export const MONITOR_CHECKPOINT = 'presence_monitor'
/** Where each tick marks that a monitor was alive, so the next start can measure an outage. */
export const ALIVE_CHECKPOINT = 'presence_monitor_alive'
/** Longest wait between two tries at acting on a departure. */
const DEPARTURE_RETRY_CAP_MS = 30_000

/** A connection on this node, as the monitor needs it. */
export interface BeatingConnection {
  readonly lastBeatAt: number
  close(code: number, reason: string): void
}

export interface PresenceMonitorDeps {
  events: EventStore
  readModels: ReadModelStore
  presence: PresenceCommands
  conversations: ConversationCommands
  desks: DeskCommands
  /** This node's connections. */
  connections: () => Iterable<BeatingConnection>
  thresholds: PresenceThresholds
  tickMs?: number
  scheduler?: SchedulerLike
  logger?: Logger
}

/**
 * Notices who has gone and acts on it. Each tick it closes this node's sockets that stopped
 * beating (code 4000), and sweeps every person the presence read model shows as past a threshold,
 * wherever they were connected: the presence aggregate then records the timeouts, the offline
 * and the departure. Deadlines live in the read model, not in timers, so a restart misses none.
 *
 * A departure (PersonLeft) is acted on from the log with a durable checkpoint: a user's open or
 * queued conversation closes (`user_left`), an agent's conversations go back to the head of the
 * queue and their seats are freed. The actions are idempotent, so a crash that repeats one, or
 * two nodes both acting, changes nothing twice.
 */
export class PresenceMonitor {
  private readonly log: Logger
  private readonly scheduler: SchedulerLike
  private ticker: Subscription | null = null
  private subscription: Subscription | null = null
  private tickRunning: Promise<void> = Promise.resolve()
  private departures: Promise<void> = Promise.resolve()
  private lastPrune = 0
  private stopped = false
  private readonly wakers: (() => void)[] = []
  private startedAt = 0
  /** How long no monitor ran before this start (0 on a first start), from the alive mark. */
  private outageMs = 0

  constructor(private readonly deps: PresenceMonitorDeps) {
    this.log = (deps.logger ?? silentLogger).child({ component: 'presence' })
    this.scheduler = deps.scheduler ?? asyncScheduler
  }

  async start(): Promise<void> {
    const { events, readModels } = this.deps
    this.startedAt = this.scheduler.now()
    const aliveAt = await readModels.checkpoint(ALIVE_CHECKPOINT)
    const period = this.deps.tickMs ?? DEFAULT_PRESENCE_TICK_MS
    this.outageMs =
      aliveAt === undefined ? 0 : Math.max(0, this.startedAt - Number(aliveAt) - period)

    // A first start begins at the head and says so durably, so that a departure after it that
    // fails is found again after a restart instead of being skipped as "before the start".
    let after = await readModels.checkpoint(MONITOR_CHECKPOINT)
    if (after === undefined) {
      after = await events.headPosition()
      await readModels.commit(MONITOR_CHECKPOINT, [], after)
    }
    this.subscription = followLog(
      events,
      { after, categories: [StreamCategory.Presence] },
      (event) => {
        if (event.type !== 'PersonLeft') return
        this.departures = this.departures.then(() => this.actOnDeparture(event))
      },
      this.log,
    )

    const tick = (): void => {
      this.tickRunning = this.tickRunning.then(() => this.tick())
    }
    this.ticker = this.scheduler.schedule(function (this: SchedulerAction<unknown>) {
      tick()
      this.schedule(undefined, period)
    }, period)
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const wake of this.wakers.splice(0)) wake()
    this.ticker?.unsubscribe()
    this.subscription?.unsubscribe()
    await this.tickRunning
    await this.departures
  }

  /** One check; exposed so tests on a virtual clock can drive it. */
  async tick(): Promise<void> {
    const now = this.scheduler.now()
    const { offlineAfterMs, leaveAfterMs } = this.deps.thresholds

    // 1. This node's silent sockets: close them; their close handlers record the time-out.
    for (const connection of this.deps.connections()) {
      if (now - connection.lastBeatAt >= offlineAfterMs) {
        connection.close(HEARTBEAT_TIMEOUT_CLOSE.code, HEARTBEAT_TIMEOUT_CLOSE.reason)
      }
    }

    // 2. Everyone past a threshold by the durable view, connected here or not. Silence that
    // overlaps a server outage is not held against anyone: the outage is added to their window.
    try {
      const due = [
        ...(await this.overdue('online', now - offlineAfterMs)),
        ...(await this.overdue('offline', now - leaveAfterMs)),
      ]
      for (const doc of due) {
        const graceMs = doc.lastHeartbeatAt < this.startedAt ? this.outageMs : 0
        const threshold = doc.status === 'online' ? offlineAfterMs : leaveAfterMs
        if (now - doc.lastHeartbeatAt < threshold + graceMs) continue
        await this.deps.presence.sweep({ role: doc.role, id: doc.id }, graceMs)
      }
      await this.deps.readModels.commit(ALIVE_CHECKPOINT, [], BigInt(now))
      await this.pruneHeartbeats(now)
    } catch (err) {
      this.log.warn({ err }, 'presence sweep failed')
    }
  }

  private async overdue(status: 'online' | 'offline', before: number): Promise<PresenceDoc[]> {
    const docs = await this.deps.readModels.find({
      collection: PRESENCE,
      where: { status },
      range: { field: 'lastHeartbeatAt', lte: before },
      limit: 1000,
    })
    return docs as unknown as PresenceDoc[]
  }

  /**
   * Acts on one departure, retrying with capped backoff until it succeeds or the monitor stops:
   * later departures wait behind it, so the checkpoint never passes one left undone.
   */
  private async actOnDeparture(event: RecordedEvent): Promise<void> {
    const left = (event as unknown as PersonLeft).data
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.departed(left)
        await this.deps.readModels.commit(MONITOR_CHECKPOINT, [], event.position)
        this.log.info({ role: left.who.role, who: left.who.id }, 'person left')
        return
      } catch (err) {
        const level = attempt >= 3 ? 'error' : 'warn'
        this.log[level](
          { err, role: left.who.role, who: left.who.id, attempt },
          'departure not acted on',
        )
        await this.delay(Math.min(DEPARTURE_RETRY_CAP_MS, 100 * 2 ** attempt))
      }
    }
  }

  /**
   * What a departure does. It is replayed after a crash, by which time the person may be back:
   * then nothing is done, and only a conversation opened before the departure is closed.
   */
  private async departed({ who, at }: PersonLeft['data']): Promise<void> {
    const { conversations, desks, presence } = this.deps
    if ((await presence.read(who)).status !== 'left') return

    if (who.role === Role.User) {
      const active = await conversations.activeConversationOf(who.id)
      if (active === null) return
      const state = await conversations.read(active)
      if (state.openedAt !== null && state.openedAt <= at) {
        await conversations.close(null, active, CloseReason.UserLeft)
      }
    } else if (who.role === Role.Agent) {
      // The seat goes first, so no repair can mistake the requeued conversation for an
      // interrupted assignment and give it back to the agent who left. Conversations are found
      // on the desk and in the read model both, so a crash between the two steps is finished
      // on the next attempt even though the seat is already gone.
      const desk = await desks.read(who.id)
      const open = await listConversations(this.deps.readModels, {
        agentId: who.id,
        status: 'open',
      })
      const ids = new Set([...desk.conversations, ...open.map((c) => c.conversationId)])
      for (const conversationId of ids) {
        await desks.releaseSeat(who.id, conversationId, 'agent_left')
        await conversations.requeue(conversationId, who.id)
      }
    }
  }

  /** Waits `ms`, or less if the monitor stops meanwhile. */
  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.scheduler.schedule(() => resolve(), ms)
      this.wakers.push(() => {
        timer.unsubscribe()
        resolve()
      })
    })
  }

  private async pruneHeartbeats(now: number): Promise<void> {
    const { events, thresholds } = this.deps
    if (!events.prune || now - this.lastPrune < HEARTBEAT_PRUNE_EVERY_MS) return
    this.lastPrune = now
    const deleted = await events.prune({
      category: StreamCategory.Presence,
      type: 'HeartbeatRecorded',
      recordedBefore: now - Math.max(thresholds.offlineAfterMs, thresholds.leaveAfterMs),
      keepLatestBy: 'connectionId',
    })
    if (deleted > 0) this.log.debug({ deleted }, 'heartbeats pruned')
  }
}
