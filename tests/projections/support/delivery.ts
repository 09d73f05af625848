import type { Test } from 'tap'
import type { Content } from '../../../src/domain/content/schema'
import type { ConversationAssigned } from '../../../src/domain/conversation/events'
import type { DeliveryPolicy } from '../../../src/domain/delivery/backoff'
import { Role, type Participant } from '../../../src/domain/shared/participant'
import {
  ConversationCommands,
  type IdSource,
  type SendResult,
} from '../../../src/infra/commands/conversation-commands'
import { createInMemoryEventStore } from '../../../src/infra/eventstore/memory'
import type { EventStore } from '../../../src/infra/eventstore/port'
import type { ReadModelStore } from '../../../src/infra/readmodel/port'
import { createSqliteReadModelStore } from '../../../src/infra/readmodel/sqlite'
import { DeliveryManager } from '../../../src/projections/delivery/delivery-manager'
import { startProjection, type ProjectionRunner } from '../../../src/projections/projection'
import { pendingAcksProjection } from '../../../src/projections/readmodels/pending-acks'
import { FakeChannels } from './channels'
import { VirtualClock } from './virtual-time'

/** One second to the first re-push and five pushes in all: waits of 1, 2, 4 and 8 s, then 16 s. */
export const TEST_POLICY: DeliveryPolicy = { ackTimeoutMs: 1_000, maxAttempts: 5 }

export const user = (id: string): Participant => ({ role: Role.User, id })
export const agent = (id: string): Participant => ({ role: Role.Agent, id })
export const text = (body: string): Content => ({ format: 'text', text: body })

/** Ids of one width, so text order and number order agree (the mirror sorts them by both). */
export function sequentialIds(): IdSource {
  let n = 100_000
  return { next: () => String(++n) }
}

/** What every node of a test shares: the clock, the log, the read models and the id source. */
export interface DeliveryWorld {
  clock: VirtualClock
  events: EventStore
  readModels: ReadModelStore
  ids: IdSource
  policy: DeliveryPolicy
}

/** An in-memory log and a SQLite ':memory:' read-model store on one virtual clock. */
export async function givenDeliveryWorld(
  t: Test,
  options: { start?: number; policy?: DeliveryPolicy; pageSize?: number } = {},
): Promise<DeliveryWorld> {
  const clock = new VirtualClock(options.start ?? 0)
  // A small page size makes a catch-up yield to the event loop between pages, as a long one does.
  const events = createInMemoryEventStore({ now: clock.now, pageSize: options.pageSize })
  const readModels = createSqliteReadModelStore({ path: ':memory:' })
  await readModels.ensureCollections(pendingAcksProjection.collections)
  t.teardown(async () => {
    await events.close()
    await readModels.close()
  })

  return { clock, events, readModels, ids: sequentialIds(), policy: options.policy ?? TEST_POLICY }
}

/** One node's delivery: its own command handlers (and their caches) and its own manager. */
export interface DeliveryNode {
  commands: ConversationCommands
  manager: DeliveryManager
  channels: FakeChannels
  /** Stops the manager; safe to call twice (teardown calls it too). */
  stop(): Promise<void>
}

/**
 * Starts a delivery manager over the world's stores. `channels` defaults to a fresh directory;
 * pass one in to keep connections across a restart of the manager.
 */
export async function startDeliveryNode(
  t: Test,
  world: DeliveryWorld,
  channels = new FakeChannels(world.clock.now),
): Promise<DeliveryNode> {
  const { events, readModels, ids, policy, clock } = world
  const commands = new ConversationCommands(events, ids, { now: () => clock.now() }, policy)
  const manager = new DeliveryManager({
    events,
    readModels,
    commands,
    channels,
    policy,
    scheduler: clock.scheduler,
  })
  await manager.start()

  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    await manager.stop()
  }
  t.teardown(stop)
  await clock.settle()
  return { commands, manager, channels, stop }
}

/** The pending-acknowledgement read model's runner over the world, stopped in teardown. */
export function startPendingAcksRunner(t: Test, world: DeliveryWorld): ProjectionRunner {
  const runner = startProjection({
    events: world.events,
    readModels: world.readModels,
    projection: pendingAcksProjection,
  })
  t.teardown(() => runner.stop())
  return runner
}

/**
 * Opens the user's conversation and assigns the agent, then has both acknowledge the `assigned`
 * notice, so that only what the test itself sends is waiting for an acknowledgement.
 */
export async function givenAssignedConversation(
  commands: ConversationCommands,
  userId: string,
  agentId: string,
): Promise<string> {
  const { conversationId } = await commands.currentConversationOf(userId)
  const result = await commands.assign(conversationId, agentId)
  const notice = result.events[0] as ConversationAssigned
  await commands.acknowledge(user(userId), conversationId, [notice.data.messageId])
  await commands.acknowledge(agent(agentId), conversationId, [notice.data.messageId])
  return conversationId
}

/** Sends a text message as `from` into the conversation. */
export function sendText(
  commands: ConversationCommands,
  from: Participant,
  conversationId: string,
  body: string,
): Promise<SendResult> {
  return commands.send(from, { clientMsgId: `client-${body}`, conversationId, content: text(body) })
}

/** How many re-pushes a node's manager asked to record, and how many the aggregate accepted. */
export interface PushTally {
  tried: number
  recorded: number
}

/** Counts the node's `due` re-push commands by wrapping its ConversationCommands.recordPush. */
export function tallyDuePushes(node: DeliveryNode): PushTally {
  const tally = { tried: 0, recorded: 0 }
  const recordPush = node.commands.recordPush.bind(node.commands)
  node.commands.recordPush = async (conversationId, messageId, recipient, reason) => {
    const pushed = await recordPush(conversationId, messageId, recipient, reason)
    if (reason === 'due') {
      tally.tried += 1
      if (pushed) tally.recorded += 1
    }
    return pushed
  }
  return tally
}
