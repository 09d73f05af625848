import type { Test } from 'tap'
import type { ConversationState } from '../../../src/domain/conversation/state'
import { agentStream, conversationStream } from '../../../src/domain/shared/streams'
import type { IdSource } from '../../../src/infra/commands/conversation-commands'
import { ConversationCommands } from '../../../src/infra/commands/conversation-commands'
import { DeskCommands } from '../../../src/infra/commands/desk-commands'
import { createInMemoryEventStore } from '../../../src/infra/eventstore/memory'
import type { EventStore } from '../../../src/infra/eventstore/port'
import type { ReadModelStore } from '../../../src/infra/readmodel/port'
import { createSqliteReadModelStore } from '../../../src/infra/readmodel/sqlite'
import { Dispatcher } from '../../../src/projections/dispatch/dispatcher'
import { startProjection, type ProjectionRunner } from '../../../src/projections/projection'
import { agentsProjection } from '../../../src/projections/readmodels/agents'
import { conversationsProjection } from '../../../src/projections/readmodels/conversations'
import { FakeAgents } from './channels'
import { sequentialIds, TEST_POLICY } from './delivery'
import { VirtualClock } from './virtual-time'

/** Long enough that no sweep runs unless a test moves the clock that far on purpose. */
export const NO_SWEEP_MS = 3_600_000

/** The log, the clock and the ids every dispatching node of a test shares. */
export interface DispatchWorld {
  clock: VirtualClock
  events: EventStore
  ids: IdSource
}

export function givenDispatchWorld(t: Test): DispatchWorld {
  const clock = new VirtualClock(1_000)
  const events = createInMemoryEventStore({ now: clock.now })
  t.teardown(() => events.close())
  return { clock, events, ids: sequentialIds() }
}

export interface DispatchNodeOptions {
  /** Agents this node sees online; default none. */
  online?: string[]
  /** Seats of an agent who never set theirs; default 1. */
  defaultSeats?: number
  /** Default NO_SWEEP_MS: a test sees what events alone make the dispatcher do. */
  sweepMs?: number
  /** Wraps the node's SQLite read-model store, for a store that lags on purpose. */
  wrapReadModels?: (store: ReadModelStore) => ReadModelStore
  /** Most events per read-model batch; the runner's default unless given. */
  maxBatch?: number
}

/** One node: its own read models (conversations, agents) and runners, commands and dispatcher. */
export interface DispatchNode {
  conversations: ConversationCommands
  desks: DeskCommands
  agents: FakeAgents
  readModels: ReadModelStore
  dispatcher: Dispatcher
}

/** Starts the node's runners, waits for them to catch up, then starts its dispatcher. */
export async function startDispatchNode(
  t: Test,
  world: DispatchWorld,
  options: DispatchNodeOptions = {},
): Promise<DispatchNode> {
  const { clock, events, ids } = world
  const defaultSeats = options.defaultSeats ?? 1
  const sqlite = createSqliteReadModelStore({ path: ':memory:' })
  const readModels = options.wrapReadModels?.(sqlite) ?? sqlite
  const { maxBatch } = options
  const runners: ProjectionRunner[] = [conversationsProjection, agentsProjection].map(
    (projection) => startProjection({ events, readModels, projection, maxBatch }),
  )
  await Promise.all(runners.map((r) => r.ready))

  const now = { now: () => clock.now() }
  const conversations = new ConversationCommands(events, ids, now, TEST_POLICY)
  const desks = new DeskCommands(events, now, defaultSeats)
  const agents = new FakeAgents(...(options.online ?? []))
  const dispatcher = new Dispatcher({
    events,
    readModels,
    waitForReadModels: async (position) => {
      await Promise.all(runners.map((r) => r.waitForPosition(position)))
    },
    conversations,
    desks,
    agents,
    defaultSeats,
    sweepMs: options.sweepMs ?? NO_SWEEP_MS,
    scheduler: clock.scheduler,
  })
  await dispatcher.start()
  t.teardown(async () => {
    await dispatcher.stop()
    await Promise.all(runners.map((r) => r.stop()))
    await sqlite.close()
  })

  await clock.settle()
  return { conversations, desks, agents, readModels, dispatcher }
}

/** Opens a conversation for a new user, one virtual second after the previous one. */
export async function openConversation(
  world: DispatchWorld,
  node: DispatchNode,
  userId: string,
): Promise<string> {
  await world.clock.advanceBy(1_000)
  const { conversationId } = await node.conversations.currentConversationOf(userId)
  return conversationId
}

/** Where a conversation stands, from its own stream. */
export async function stateOf(
  node: DispatchNode,
  conversationId: string,
): Promise<Pick<ConversationState, 'status' | 'agentId'>> {
  const { status, agentId } = await node.conversations.read(conversationId)
  return { status, agentId }
}

/** Settles until the conversation is open, and says with whom. */
export async function assignedAgentOf(
  world: DispatchWorld,
  node: DispatchNode,
  conversationId: string,
): Promise<string | null> {
  await world.clock.until(`assignment of ${conversationId}`, async () => {
    return (await stateOf(node, conversationId)).status === 'open'
  })
  return (await stateOf(node, conversationId)).agentId
}

/** Appends a SeatTaken straight to the agent's stream, as a crash before the assignment left it. */
export async function givenSeatTakenOnly(
  world: DispatchWorld,
  agentId: string,
  conversationId: string,
): Promise<void> {
  const data = { agentId, conversationId, at: world.clock.now() }
  await world.events.appendToStream(agentStream(agentId), [{ type: 'SeatTaken', data }])
}

/** Counts a node's seat requests, and those refused for want of a seat, by wrapping takeSeat. */
export function tallySeatRequests(node: DispatchNode): { tried: number; refused: number } {
  const tally = { tried: 0, refused: 0 }
  const takeSeat = node.desks.takeSeat.bind(node.desks)
  node.desks.takeSeat = async (agentId, conversationId) => {
    tally.tried += 1
    try {
      return await takeSeat(agentId, conversationId)
    } catch (err) {
      tally.refused += 1
      throw err
    }
  }
  return tally
}

/**
 * A read-model store whose commits for `projection` at or past `from` wait until `release` is
 * called: a read model lagging behind the log, held at a chosen position.
 */
export function heldCommits(projection: string, from: bigint) {
  let release = (): void => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  const wrap = (inner: ReadModelStore): ReadModelStore => ({
    ...inner,
    async commit(name, changes, checkpoint) {
      if (name === projection && checkpoint >= from) await released
      return inner.commit(name, changes, checkpoint)
    },
  })
  return { wrap, release }
}

/** Appends ConversationOpened for each id in one tick, as a burst of opens lands in the log. */
export async function openAtOnce(
  world: DispatchWorld,
  conversations: { conversationId: string; userId: string }[],
): Promise<void> {
  const openedAt = world.clock.now()
  const appends = conversations.map(({ conversationId, userId }) =>
    world.events.appendToStream(
      conversationStream(conversationId),
      [{ type: 'ConversationOpened', data: { conversationId, userId, openedAt } }],
      { expectedRevision: 'no_stream' },
    ),
  )
  await Promise.all(appends)
}
