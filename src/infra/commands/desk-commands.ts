import {
  deskDecider,
  type DeskCommand,
  type DeskEvent,
  type DeskState,
} from '../../domain/desk/desk'
import { agentStream } from '../../domain/shared/streams'
import type { EventStore } from '../eventstore/port'
import { CommandHandler } from './command-handler'
import type { Clock } from './conversation-commands'

/** The agent desk's use cases: seats set, taken and released against the agent's stream. */
export class DeskCommands {
  private readonly handler: CommandHandler<DeskCommand, DeskEvent, DeskState>

  constructor(
    events: EventStore,
    private readonly clock: Clock,
    private readonly defaultSeats: number,
  ) {
    this.handler = new CommandHandler(events, deskDecider)
  }

  setSeats(agentId: string, seats: number) {
    return this.handler.handle(agentStream(agentId), {
      type: 'SetSeats',
      agentId,
      seats,
      now: this.clock.now(),
    })
  }

  /** Throws a DomainError (`conflict`, details.reason `seats_full`) when no seat is free. */
  takeSeat(agentId: string, conversationId: string) {
    return this.handler.handle(agentStream(agentId), {
      type: 'TakeSeat',
      agentId,
      conversationId,
      defaultSeats: this.defaultSeats,
      now: this.clock.now(),
    })
  }

  releaseSeat(agentId: string, conversationId: string, reason: string) {
    return this.handler.handle(agentStream(agentId), {
      type: 'ReleaseSeat',
      agentId,
      conversationId,
      reason,
      now: this.clock.now(),
    })
  }

  read(agentId: string): Promise<DeskState> {
    return this.handler.read(agentStream(agentId))
  }
}
