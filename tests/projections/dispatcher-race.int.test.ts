import t from 'tap'
import { agentStream } from '../../src/domain/shared/streams'
import {
  givenDispatchWorld,
  startDispatchNode,
  stateOf,
  tallySeatRequests,
  type DispatchNode,
  type DispatchWorld,
} from './support/dispatch'
import { recorded } from './support/log'

// Two dispatchers (two nodes) share one log and see the same agents online; each has its own
// read models, command handlers and caches. Conversations arrive in a burst, at one virtual
// instant, through both nodes, so both drain the same queue at once. The agent's stream revision
// is the only thing between them and over-booking.

const SWEEP_MS = 5_000

/** The most seats the agent's own stream ever shows held at once, and what it holds at the end. */
async function seatsHeld(world: DispatchWorld, agentId: string) {
  let most = 0
  const held = new Set<string>()
  for (const event of await world.events.readStream(agentStream(agentId))) {
    const { conversationId } = event.data as { conversationId?: string }
    if (event.type === 'SeatTaken' && conversationId) held.add(conversationId)
    if (event.type === 'SeatReleased' && conversationId) held.delete(conversationId)
    most = Math.max(most, held.size)
  }
  return { most, held: [...held].sort() }
}

/** Opens one conversation per user at the same instant, alternating between the nodes. */
async function burstOfConversations(nodes: DispatchNode[], users: string[]): Promise<string[]> {
  const opened = await Promise.all(
    users.map((u, i) => nodes[i % nodes.length].conversations.currentConversationOf(u)),
  )
  return opened.map((o) => o.conversationId)
}

/**
 * Two sweeps on both nodes, so any late repair acts too (and a conversation a coalesced trigger
 * missed, see dispatcher.int.test.ts, is picked up), then everything assigned or queued.
 */
async function settledDispatch(world: DispatchWorld, node: DispatchNode, ids: string[]) {
  await world.clock.advanceBy(2 * SWEEP_MS)
  await world.clock.until('every conversation assigned or queued', async () => {
    for (const id of ids) if ((await stateOf(node, id)).status === 'new') return false
    return true
  })
}

t.test(
  'two dispatchers racing over one queue never book an agent beyond their seats',
  async (t) => {
    // Given two nodes that both see a1 online, with two seats
    const world = givenDispatchWorld(t)
    const options = { online: ['a1'], defaultSeats: 2, sweepMs: SWEEP_MS }
    const east = await startDispatchNode(t, world, options)
    const west = await startDispatchNode(t, world, options)
    const eastSeats = tallySeatRequests(east)
    const westSeats = tallySeatRequests(west)

    // When six conversations arrive at once, through both nodes
    const ids = await burstOfConversations([east, west], ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'])
    await settledDispatch(world, east, ids)

    // Then a1's stream never held more than two seats, and holds two
    const { most, held } = await seatsHeld(world, 'a1')
    t.equal(most, 2, 'never more than two seats held at once')
    t.equal(held.length, 2)

    // And exactly the two conversations holding them are assigned, each once, to a1
    const assignments = await recorded(world.events, 'ConversationAssigned')
    t.same(assignments.map((a) => a.conversationId).sort(), held, 'assigned = seated')
    t.ok(assignments.every((a) => a.agentId === 'a1'))
    for (const id of ids.filter((id) => !held.includes(id))) {
      t.same(await stateOf(west, id), { status: 'queued', agentId: null }, `${id} waits`)
    }

    // And both nodes did compete for the seats
    t.ok(eastSeats.tried > 0 && westSeats.tried > 0, 'both nodes asked for seats')
    t.ok(eastSeats.refused + westSeats.refused > 0, 'some requests were refused as over the seats')
  },
)

t.test('two dispatchers racing over two agents give each agent one conversation', async (t) => {
  // Given two nodes that both see a1 and a2 online, one seat each
  const world = givenDispatchWorld(t)
  const options = { online: ['a1', 'a2'], defaultSeats: 1, sweepMs: SWEEP_MS }
  const east = await startDispatchNode(t, world, options)
  const west = await startDispatchNode(t, world, options)

  // When five conversations arrive at once
  const ids = await burstOfConversations([west, east], ['u1', 'u2', 'u3', 'u4', 'u5'])
  await settledDispatch(world, west, ids)

  // Then each agent holds exactly one seat, never two, for the one conversation it was assigned
  const assignments = await recorded(world.events, 'ConversationAssigned')
  for (const agentId of ['a1', 'a2']) {
    const { most, held } = await seatsHeld(world, agentId)
    t.equal(most, 1, `${agentId} never held two seats`)
    t.same(
      assignments.filter((a) => a.agentId === agentId).map((a) => a.conversationId),
      held,
      `${agentId} is assigned exactly the conversation it seats`,
    )
  }
  t.equal(new Set(assignments.map((a) => a.conversationId)).size, 2, 'two assigned, once each')
  const waiting = []
  for (const id of ids) if ((await stateOf(east, id)).status === 'queued') waiting.push(id)
  t.equal(waiting.length, 3, 'the other three wait')
})
