import type { PushFrame, ServerFrame } from '../../../src/domain/protocol/frames'
import { participantKey, type Participant } from '../../../src/domain/shared/participant'
import type { ChannelDirectory, PushChannel } from '../../../src/projections/delivery/push-channel'
import type { AgentAvailability } from '../../../src/projections/dispatch/dispatcher'

/** One frame as a fake connection received it, with the virtual time it arrived at. */
export interface Received {
  at: number
  frame: ServerFrame
}

const isPush = (frame: ServerFrame): frame is PushFrame =>
  frame.type === 'message' || frame.type === 'system'

/** A connection that keeps every frame written to it. */
export class FakeChannel implements PushChannel {
  readonly received: Received[] = []

  constructor(
    readonly owner: Participant,
    readonly name: string,
    private readonly now: () => number,
  ) {}

  send(frame: ServerFrame): void {
    this.received.push({ at: this.now(), frame })
  }

  /** The message and notice frames, in arrival order. */
  pushes(): { at: number; frame: PushFrame }[] {
    return this.received.flatMap(({ at, frame }) => (isPush(frame) ? [{ at, frame }] : []))
  }

  /** Arrival times of the pushes of one message. */
  pushTimesOf(messageId: string): number[] {
    return this.pushes()
      .filter(({ frame }) => frame.messageId === messageId)
      .map(({ at }) => at)
  }
}

/** A node's connections by person, as the gateway's registry offers them to the managers. */
export class FakeChannels implements ChannelDirectory {
  private readonly byPerson = new Map<string, FakeChannel[]>()

  constructor(private readonly now: () => number) {}

  /** Registers a connection of `who`; the delivery manager is not told (see `connected`). */
  open(who: Participant, name = 'channel'): FakeChannel {
    const channel = new FakeChannel(who, name, this.now)
    const key = participantKey(who)
    this.byPerson.set(key, [...(this.byPerson.get(key) ?? []), channel])
    return channel
  }

  close(channel: FakeChannel): void {
    const key = participantKey(channel.owner)
    const rest = (this.byPerson.get(key) ?? []).filter((c) => c !== channel)
    if (rest.length === 0) this.byPerson.delete(key)
    else this.byPerson.set(key, rest)
  }

  channelsOf(who: Participant): readonly FakeChannel[] {
    return this.byPerson.get(participantKey(who)) ?? []
  }

  /** Everything pushed to any connection of `who`, in arrival order. */
  pushesTo(who: Participant): { at: number; frame: PushFrame }[] {
    return this.channelsOf(who)
      .flatMap((channel) => channel.pushes())
      .sort((a, b) => a.at - b.at)
  }
}

/** Which agents a node sees online; a test moves agents in and out. */
export class FakeAgents implements AgentAvailability {
  private readonly online = new Set<string>()

  constructor(...agentIds: string[]) {
    for (const id of agentIds) this.online.add(id)
  }

  add(agentId: string): void {
    this.online.add(agentId)
  }

  onlineAgents(): readonly string[] {
    return [...this.online]
  }
}
