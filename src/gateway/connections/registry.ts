import type { ServerFrame } from '../../domain/protocol/frames'
import { participantKey, Role, type Participant } from '../../domain/shared/participant'
import type { ChannelDirectory, PushChannel } from '../../projections/delivery/push-channel'

/** A live socket of one person on this node. */
export interface Connection extends PushChannel {
  readonly id: string
  readonly participant: Participant
  send(frame: ServerFrame): void
  /** When the last application heartbeat (or the opening) arrived, by the server's clock. */
  readonly lastBeatAt: number
  /** Closes the socket with a WebSocket close code and a short reason. */
  close(code: number, reason: string): void
  /** Closes for a server shutdown; resolves once the disconnect is recorded. */
  shutdown(): Promise<void>
}

/**
 * The node's live connections, by person. A person may hold several (tabs, devices); every one
 * of them gets each push. The process managers see it through ChannelDirectory only; who is
 * online across nodes is the presence read model's business.
 */
export class ConnectionRegistry implements ChannelDirectory {
  private readonly byPerson = new Map<string, Connection[]>()

  add(connection: Connection): void {
    const key = participantKey(connection.participant)
    this.byPerson.set(key, [...(this.byPerson.get(key) ?? []), connection])
  }

  remove(connection: Connection): void {
    const key = participantKey(connection.participant)
    const rest = (this.byPerson.get(key) ?? []).filter((c) => c !== connection)
    if (rest.length === 0) this.byPerson.delete(key)
    else this.byPerson.set(key, rest)
  }

  channelsOf(participant: Participant): readonly Connection[] {
    return this.byPerson.get(participantKey(participant)) ?? []
  }

  /** Agents with a socket on this node. */
  onlineAgents(): string[] {
    const prefix = `${Role.Agent}:`
    return [...this.byPerson.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => k.slice(prefix.length))
  }

  get size(): number {
    let n = 0
    for (const list of this.byPerson.values()) n += list.length
    return n
  }

  all(): Connection[] {
    return [...this.byPerson.values()].flat()
  }
}
