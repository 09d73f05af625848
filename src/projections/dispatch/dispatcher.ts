import { asyncScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs'
import { DomainError } from '../../domain/shared/errors'
import { Role } from '../../domain/shared/participant'
import { StreamCategory } from '../../domain/shared/streams'
import type { ConversationCommands } from '../../infra/commands/conversation-commands'
import type { DeskCommands } from '../../infra/commands/desk-commands'
import type { EventStore, RecordedEvent } from '../../infra/eventstore/port'
import { followLog } from '../follow-log'
import { silentLogger, type Logger } from '../../infra/logging/logger'
import type { ReadModelStore } from '../../infra/readmodel/port'

/** How often the dispatcher re-checks seats and the queue even when no event asked it to. */
export const DEFAULT_DISPATCH_SWEEP_MS = 5000
/** Most waiting conversations looked at in one pass. */
const QUEUE_PAGE = 500

/** Which agents can take new conversations now (online by their presence). */
export interface AgentAvailability {
  onlineAgents(): readonly string[] | Promise<readonly string[]>
}

export interface DispatcherDeps {
  events: EventStore
  readModels: ReadModelStore
  /** Resolves once the read models have applied the log up to a position. */
  waitForReadModels(position: bigint): Promise<void>
  conversations: ConversationCommands
  desks: DeskCommands
  agents: AgentAvailability
  defaultSeats: number
  sweepMs?: number
  scheduler?: SchedulerLike
  logger?: Logger
}

interface AgentDoc {
  agentId: string
  seats: number | null
  conversations: string[]
}

/**
 * Puts waiting conversations in agents' seats, first come first served, least loaded agent
 * first. It is a process manager: it reacts to the log (a conversation opened, a seat freed, a
 * conversation closed) and to agents coming online, and issues commands. Seats are taken on the
 * agent's stream first and the conversation is assigned second; the agent stream's revision
 * check is what keeps an agent within their seats, across nodes too. Every step is idempotent,
 * and a periodic sweep repairs what a crash between two steps left half done (a seat held for a
 * conversation that was never assigned, or one that has closed).
 */
export class Dispatcher {
  private readonly log: Logger
  private subscription: Subscription | null = null
  private sweepTimer: Subscription | null = null
  private running: Promise<void> = Promise.resolve()
  private pending = false
  private waitFor: bigint | null = null

  constructor(private readonly deps: DispatcherDeps) {
    this.log = (deps.logger ?? silentLogger).child({ component: 'dispatcher' })
  }

  async start(): Promise<void> {
    const head = await this.deps.events.headPosition()
    this.subscription = followLog(
      this.deps.events,
      {
        after: head,
        categories: [StreamCategory.Conversation, StreamCategory.Agent, StreamCategory.Presence],
      },
      (event) => this.onEvent(event),
      this.log,
    )
    const scheduler = this.deps.scheduler ?? asyncScheduler
    const period = this.deps.sweepMs ?? DEFAULT_DISPATCH_SWEEP_MS
    const sweep = (): void => void this.kick(null, true)
    this.sweepTimer = scheduler.schedule(function (this: SchedulerAction<unknown>) {
      sweep()
      this.schedule(undefined, period)
    }, period)
    await this.kick(head, true)
  }

  async stop(): Promise<void> {
    this.subscription?.unsubscribe()
    this.sweepTimer?.unsubscribe()
    await this.running
  }

  /** An agent may have become available: run a pass (after the read models reach `position`). */
  agentAvailable(position: bigint | null = null): Promise<void> {
    return this.kick(position, false)
  }

  private onEvent(event: RecordedEvent): void {
    const data = event.data as Record<string, unknown>
    switch (event.type) {
      case 'ConversationOpened':
      case 'ConversationRequeued':
      case 'SeatReleased':
      case 'AgentSeatsSet':
        void this.kick(event.position, false)
        return
      case 'WentOnline':
        if ((data.who as { role?: string }).role === Role.Agent)
          void this.kick(event.position, false)
        return
      case 'SeatTaken':
        void this.serial(async () => {
          await this.ensureAssigned(String(data.agentId), String(data.conversationId))
        })
        return
      case 'ConversationClosed':
        if (typeof data.agentId === 'string') {
          const agentId = data.agentId
          const conversationId = String(data.conversationId)
          void this.serial(() => this.release(agentId, conversationId, 'conversation_closed'))
        }
        return
    }
  }

  /** Runs a pass soon, coalescing triggers that arrive while one is already waiting. */
  private kick(position: bigint | null, sweep: boolean): Promise<void> {
    // A trigger folded into the pending pass still raises the position that pass waits for.
    this.raiseWaitFor(position)
    if (this.pending && !sweep) return this.running
    this.pending = true
    return this.serial(async () => {
      this.pending = false
      const target = this.waitFor
      this.waitFor = null
      if (target !== null) await this.deps.waitForReadModels(target)
      if (sweep) await this.repairSeats()
      await this.drainQueue()
    })
  }

  /**
   * The next pass reads the read models only once they show everything up to here: the
   * triggers it answers and the seats and assignments earlier passes wrote, so it never takes
   * a second seat for a conversation it has just assigned.
   */
  private raiseWaitFor(position: bigint | null): void {
    if (position !== null && (this.waitFor === null || position > this.waitFor)) {
      this.waitFor = position
    }
  }

  private serial(step: () => Promise<void>): Promise<void> {
    this.running = this.running.then(step).catch((err: unknown) => {
      this.log.warn({ err }, 'dispatch step failed')
    })
    return this.running
  }

  /** Assigns waiting conversations in arrival order while online agents have free seats. */
  private async drainQueue(): Promise<void> {
    const { readModels, agents, defaultSeats } = this.deps
    const waiting = await readModels.find({
      collection: 'conversations',
      where: { status: 'queued' },
      orderBy: { field: 'queueRank', direction: 'asc' },
      limit: QUEUE_PAGE,
    })
    if (waiting.length === 0) return

    const free = new Map<string, { load: number; seats: number }>()
    for (const agentId of await agents.onlineAgents()) {
      const doc = (await readModels.get('agents', agentId)) as AgentDoc | undefined
      const load = doc?.conversations.length ?? 0
      const seats = doc?.seats ?? defaultSeats
      if (load < seats) free.set(agentId, { load, seats })
    }

    let position = 0
    for (const conversation of waiting) {
      const conversationId = String(conversation.conversationId)
      const assigned = await this.assignToLeastLoaded(conversationId, free)
      if (!assigned) {
        position += 1
        if (conversation.queuedAt === null) {
          this.raiseWaitFor(
            (await this.deps.conversations.queue(conversationId, position)).position,
          )
        }
      }
    }
  }

  private async assignToLeastLoaded(
    conversationId: string,
    free: Map<string, { load: number; seats: number }>,
  ): Promise<boolean> {
    const candidates = [...free.entries()].sort(
      ([a, x], [b, y]) => x.load - y.load || (a < b ? -1 : 1),
    )
    for (const [agentId, slot] of candidates) {
      try {
        this.raiseWaitFor((await this.deps.desks.takeSeat(agentId, conversationId)).position)
      } catch (err) {
        if (!(err instanceof DomainError)) throw err
        free.delete(agentId)
        continue
      }

      slot.load += 1
      if (slot.load >= slot.seats) free.delete(agentId)
      return this.ensureAssigned(agentId, conversationId)
    }
    return false
  }

  /** A seat is held for the conversation: assign it, or give the seat back if it cannot be. */
  private async ensureAssigned(agentId: string, conversationId: string): Promise<boolean> {
    try {
      this.raiseWaitFor((await this.deps.conversations.assign(conversationId, agentId)).position)
      return true
    } catch (err) {
      if (!(err instanceof DomainError)) throw err
      await this.release(agentId, conversationId, 'assignment_failed')
      return false
    }
  }

  private async release(agentId: string, conversationId: string, reason: string): Promise<void> {
    this.raiseWaitFor((await this.deps.desks.releaseSeat(agentId, conversationId, reason)).position)
  }

  /**
   * Frees seats held for closed conversations or conversations another agent has, and finishes
   * assignments a crash interrupted, but only towards an agent who is online: a seat an offline
   * agent still holds for a waiting conversation is given back instead.
   */
  private async repairSeats(): Promise<void> {
    const { readModels, conversations, agents } = this.deps
    const desks = await readModels.find({ collection: 'agents' })
    const online = new Set(await agents.onlineAgents())
    for (const desk of desks as unknown as AgentDoc[]) {
      for (const conversationId of desk.conversations) {
        const state = await conversations.read(conversationId)
        if (state.status === 'open' && state.agentId === desk.agentId) continue
        if (state.status !== 'closed' && state.status !== 'open' && online.has(desk.agentId)) {
          await this.ensureAssigned(desk.agentId, conversationId)
        } else {
          await this.release(desk.agentId, conversationId, 'repair')
        }
      }
    }
  }
}
