import t from 'tap'
import { agent, givenAssignedConversation, givenDeliveryWorld, sendText, startDeliveryNode, user } from '../tests/projections/support/delivery'
import { recorded } from '../tests/projections/support/log'

t.test('probe', async (t) => {
  const world = await givenDeliveryWorld(t)
  const node = await startDeliveryNode(t, world)
  const c = await givenAssignedConversation(node.commands, 'u1', 'a1')
  const phone = node.channels.open(user('u1'))
  await world.clock.advanceTo(10_000)
  const sent = await sendText(node.commands, agent('a1'), c, 'x')
  await world.clock.advanceTo(26_000)
  node.channels.close(phone)
  await world.clock.advanceTo(500_000)
  console.log('pushes', (await recorded(world.events, 'MessagePushed')).map(p => p.attempt), 'abandoned', (await recorded(world.events, 'PushAbandoned')).length, node.manager.pendingFor(user('u1')))
  const again = node.channels.open(user('u1'))
  await node.manager.connected(user('u1'), again)
  await world.clock.advanceTo(900_000)
  console.log('after reconnect', again.pushes().length, 'abandoned', (await recorded(world.events, 'PushAbandoned')).length)
})
