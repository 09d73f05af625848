import type { ConversationEvent } from '../../../src/domain/conversation/events'
import type { DeskEvent } from '../../../src/domain/desk/desk'
import type { EventStore } from '../../../src/infra/eventstore/port'

type AnyEvent = ConversationEvent | DeskEvent
type DataOf<T extends AnyEvent['type']> = Extract<AnyEvent, { type: T }>['data']

/** The data of every stored event of one type, in log order, optionally narrowed. */
export async function recorded<T extends AnyEvent['type']>(
  events: EventStore,
  type: T,
  where: (data: DataOf<T>) => boolean = () => true,
): Promise<DataOf<T>[]> {
  const found: DataOf<T>[] = []
  for await (const event of events.readAll()) {
    if (event.type !== type) continue
    const data = event.data as DataOf<T>
    if (where(data)) found.push(data)
  }
  return found
}

/** The MessagePushed records of one message, in log order. */
export const pushesOf = (events: EventStore, messageId: string) =>
  recorded(events, 'MessagePushed', (d) => d.messageId === messageId)

/** The PushAbandoned records of one message. */
export const abandonsOf = (events: EventStore, messageId: string) =>
  recorded(events, 'PushAbandoned', (d) => d.messageId === messageId)
