import type { ServerFrame } from '../../domain/protocol/frames'
import type { Participant } from '../../domain/shared/participant'

/** One live connection, as the process managers see it: something frames can be written to. */
export interface PushChannel {
  send(frame: ServerFrame): void
}

/** The node's live connections by person. The gateway implements it. */
export interface ChannelDirectory {
  channelsOf(participant: Participant): readonly PushChannel[]
}
