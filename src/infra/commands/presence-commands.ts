import type { DisconnectReason } from '../../domain/presence/events'
import {
  presenceDecider,
  type PresenceCommand,
  type PresenceState,
} from '../../domain/presence/presence'
import type { PresenceThresholds } from '../../domain/presence/thresholds'
import type { PresenceEvent } from '../../domain/presence/events'
import type { Participant } from '../../domain/shared/participant'
import { presenceStream } from '../../domain/shared/streams'
import type { EventStore } from '../eventstore/port'
import { CommandHandler, type HandleResult } from './command-handler'
import type { Clock } from './conversation-commands'

type Result = HandleResult<PresenceState, PresenceEvent>

/** Presence use cases: each connection's opening, beats and end, and the monitor's sweep. */
export class PresenceCommands {
  private readonly handler: CommandHandler<PresenceCommand, PresenceEvent, PresenceState>

  constructor(
    events: EventStore,
    private readonly clock: Clock,
    private readonly thresholds: PresenceThresholds,
    private readonly nodeId: number,
  ) {
    this.handler = new CommandHandler(events, presenceDecider)
  }

  connect(who: Participant, connectionId: string): Promise<Result> {
    const now = this.clock.now()
    return this.handle(who, { type: 'Connect', who, connectionId, nodeId: this.nodeId, now })
  }

  beat(who: Participant, connectionId: string): Promise<Result> {
    return this.handle(who, { type: 'Beat', who, connectionId, now: this.clock.now() })
  }

  disconnect(who: Participant, connectionId: string, reason: DisconnectReason): Promise<Result> {
    const { thresholds } = this
    const now = this.clock.now()
    return this.handle(who, { type: 'Disconnect', who, connectionId, reason, thresholds, now })
  }

  /** The monitor's check; `graceMs` widens both windows (silence during a server outage). */
  sweep(who: Participant, graceMs = 0): Promise<Result> {
    const now = this.clock.now()
    const thresholds = {
      offlineAfterMs: this.thresholds.offlineAfterMs + graceMs,
      leaveAfterMs: this.thresholds.leaveAfterMs + graceMs,
    }
    return this.handle(who, { type: 'Sweep', who, thresholds, now })
  }

  read(who: Participant): Promise<PresenceState> {
    return this.handler.read(presenceStream(who))
  }

  private handle(who: Participant, command: PresenceCommand): Promise<Result> {
    // Ids come from tokens (role + id); the role keeps a user and an agent with one id apart.
    return this.handler.handle(presenceStream({ role: who.role, id: who.id }), command)
  }
}
