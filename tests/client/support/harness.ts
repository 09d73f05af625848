import type { Test } from 'tap'
import { ParleyClient } from '../../../src/client/parley-client'
import type { ParleyClientOptions } from '../../../src/client/options'
import type {
  ChatItem,
  ConnectionStatus,
  KeyValueStorage,
  OutgoingMessage,
} from '../../../src/client/types'
import type { ClientError } from '../../../src/client/errors'
import { FakeServer, fakeToken } from './fake-server'
import { VirtualClock } from './virtual-clock'

/** A Map-backed `localStorage` that outlives the clients using it (a "reload" keeps it). */
export class MemoryStorage implements KeyValueStorage {
  readonly data = new Map<string, string>()
  getItem(key: string): string | null {
    return this.data.get(key) ?? null
  }
  setItem(key: string, value: string): void {
    this.data.set(key, value)
  }
  removeItem(key: string): void {
    this.data.delete(key)
  }
}

/** A client on the fake server with everything it emits recorded. */
export interface Observed {
  client: ParleyClient
  items: ChatItem[]
  statuses: ConnectionStatus[]
  outgoing: (readonly OutgoingMessage[])[]
  errors: ClientError[]
  /** The latest outgoing list. */
  pending(): readonly OutgoingMessage[]
}

let counter = 0
/** A unique participant id per call, so tests never share state by accident. */
export const uniqueId = (prefix: string): string => `${prefix}-${(counter += 1)}`

export function world(): { clock: VirtualClock; server: FakeServer } {
  const clock = new VirtualClock()
  return { clock, server: new FakeServer(clock) }
}

/** A started client for `role`/`id`, closed at teardown. */
export function connect(
  t: Test,
  env: { clock: VirtualClock; server: FakeServer },
  who: { role: 'user' | 'agent'; id: string },
  options: Partial<ParleyClientOptions> = {},
  start = true,
): Observed {
  const client = new ParleyClient({
    baseUrl: 'http://fake.parley',
    token: fakeToken(who.role, who.id),
    WebSocket: env.server.WebSocket,
    fetch: env.server.fetch,
    clock: env.clock,
    random: () => 0.5,
    ...options,
  })
  const observed: Observed = {
    client,
    items: [],
    statuses: [],
    outgoing: [],
    errors: [],
    pending: () => observed.outgoing[observed.outgoing.length - 1] ?? [],
  }
  client.items$.subscribe((item) => observed.items.push(item))
  client.status$.subscribe((status) => observed.statuses.push(status))
  client.outgoing$.subscribe((list) => observed.outgoing.push(list))
  client.errors$.subscribe((err) => observed.errors.push(err))
  t.teardown(() => client.close())
  if (start) client.start()
  return observed
}

/** Seqs of the items delivered for a conversation, in delivery order. */
export const seqsOf = (items: ChatItem[], conversationId: string): number[] =>
  items.filter((i) => i.conversationId === conversationId).map((i) => i.seq)

export const text = (value: string) => ({ format: 'text' as const, text: value })
