import t from 'tap'
import { givenDispatchWorld, startDispatchNode } from '../tests/projections/support/dispatch'
import { recorded } from '../tests/projections/support/log'

t.test('probe', async (t) => {
  for (let round = 0; round < 5; round++) {
  const world = givenDispatchWorld(t)
  const options = { online: ['a1'], defaultSeats: 2, sweepMs: 5000 }
  const east = await startDispatchNode(t, world, options)
  const west = await startDispatchNode(t, world, options)
  const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']
  const opened = await Promise.all(users.map((u, i) => [east, west][i % 2].conversations.currentConversationOf(u)))
  await world.clock.settle(); await world.clock.settle(); await world.clock.settle()
  const q = await recorded(world.events, 'ConversationQueued')
  const a = await recorded(world.events, 'ConversationAssigned')
  console.log(opened.map(o => o.conversationId).join(','), 'assigned', a.map(x => x.conversationId).join(','), 'queued', q.map(x => `${x.conversationId}@${x.position}`).join(' '))
  }
})
