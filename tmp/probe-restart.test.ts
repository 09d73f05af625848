import t from 'tap'
import { FakeChannels } from '../tests/projections/support/channels'
import { agent, givenAssignedConversation, givenDeliveryWorld, sendText, startDeliveryNode, user } from '../tests/projections/support/delivery'
import { recorded } from '../tests/projections/support/log'

t.test('probe', async (t) => {
  const world = await givenDeliveryWorld(t)
  const channels = new FakeChannels(world.clock.now)
  const phone = channels.open(user('u1'), 'phone')
  const first = await startDeliveryNode(t, world, channels)
  const c = await givenAssignedConversation(first.commands, 'u1', 'a1')
  await world.clock.advanceTo(10_000)
  const sent = await sendText(first.commands, agent('a1'), c, 'x')
  await world.clock.advanceTo(10_500)
  await first.commands.acknowledge(user('u1'), c, [sent.messageId])
  await world.clock.advanceTo(11_000)
  await first.stop()
  console.log('before', phone.pushes().map(p => [p.at, p.frame.type, p.frame.seq]))
  await world.clock.advanceTo(12_000)
  await startDeliveryNode(t, world, channels)
  await world.clock.advanceTo(20_000)
  console.log('after', phone.pushes().map(p => [p.at, p.frame.type, p.frame.seq]))
  console.log('acks', (await recorded(world.events, 'MessageAcknowledged')).map(a => [a.messageId, a.recipient.role]))
  console.log('pushed', (await recorded(world.events, 'MessagePushed')).map(a => [a.messageId, a.attempt]))
})
