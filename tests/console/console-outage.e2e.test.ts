import t from 'tap'
import { fetchMessages, uniqueId } from '../support/server'
import {
  compose,
  confirmedText,
  connected,
  drawnIds,
  givenConsoleRig,
  openPage,
  pasteToken,
  receivedText,
  screenshot,
} from './support/console-harness'

/** Reconnecting waits out the SDK's backoff (capped exponential, full jitter): allow for it. */
const RECONNECT_WAIT_MS = 40_000

t.test('an outage and reloads on both sides lose nothing and show nothing twice', async (t) => {
  const rig = await givenConsoleRig(t)
  const { server, proxy } = rig
  const userId = uniqueId('customer')
  const agentId = uniqueId('agent')
  const customerUrl = `${proxy.url}/console/customer?token=${server.token('user', userId)}`
  // The agent signs in through the paste box: the token then lives in the page's memory only.
  const agentToken = server.token('agent', agentId, 3)
  const agentUrl = `${server.httpUrl}/console/agent`

  // 1. The agent is at the desk; the customer writes and is answered.
  const agent = await openPage(t, rig, 'outage-agent', agentUrl, { paste: agentToken })
  const customer = await openPage(t, rig, 'outage-customer', customerUrl)
  const a = agent.page
  const c = customer.page
  await compose(c, 'text', { text: 'My parcel never came.' })
  await confirmedText(c, 'parcel never came')
  const conversationId = (await c.getAttribute('.divider', 'data-conversation-id')) as string
  await a.locator(`.open-conversations [data-conversation-id="${conversationId}"]`).waitFor()
  await receivedText(a, 'parcel never came')
  await compose(a, 'text', { text: 'Sorry! Which order was it?' })
  await receivedText(c, 'Which order was it')

  // 2. The customer's network goes; they keep writing, and the agent writes meanwhile.
  proxy.cut()
  await customer.context.setOffline(true)
  await c.locator('[data-status="reconnecting"]').waitFor()
  await compose(c, 'text', { text: 'Written in the tunnel, one' })
  await compose(c, 'order_card', { orderId: 'SO-7734', title: 'Walking boots, size 42' })
  await c.locator('.chat [data-state="pending"]').nth(1).waitFor()
  t.equal(await c.locator('.chat [data-state="pending"]').count(), 2, 'both wait as pending')
  await compose(a, 'text', { text: 'Are you still there?' })
  await confirmedText(a, 'still there')
  await screenshot(c, 'outage-customer-offline')

  // 3. Back online: the pending sends go out once, the agent's message comes in.
  await customer.context.setOffline(false)
  proxy.restore()
  await c.locator('[data-status="open"]').waitFor({ timeout: RECONNECT_WAIT_MS })
  await confirmedText(c, 'in the tunnel, one')
  await c.locator('.chat .message.own[data-message-id]', { hasText: 'SO-7734' }).waitFor()
  await receivedText(c, 'still there')
  await receivedText(a, 'in the tunnel, one')
  await a.locator('.chat .message.theirs[data-message-id]', { hasText: 'SO-7734' }).waitFor()

  // 4. Offline again, a send, and a reload that cannot reach the server: only the SDK's
  // storage holds that send. Then the page loads again once the network is back.
  proxy.cut()
  await customer.context.setOffline(true)
  await c.locator('[data-status="reconnecting"]').waitFor()
  await compose(c, 'text', { text: 'Written just before the reload' })
  await c.locator('.chat [data-state="pending"]').waitFor()
  await c.reload().then(
    () => t.fail('the reload should not reach the server while offline'),
    () => undefined,
  )
  await customer.context.setOffline(false)
  proxy.restore()
  await c.goto(customerUrl)
  await c.locator('[data-status="open"]').waitFor({ timeout: RECONNECT_WAIT_MS })
  await confirmedText(c, 'just before the reload')
  await receivedText(a, 'just before the reload')

  // 5. The agent reloads mid-conversation too (the page asks for the token again), answers.
  await a.reload()
  await a.locator('.token-gate').waitFor()
  await pasteToken(a, agentToken)
  await connected(a)
  await a.click(`.open-conversations [data-conversation-id="${conversationId}"]`)
  await receivedText(a, 'just before the reload')
  await compose(a, 'text', { text: 'Found it: it ships again today.' })
  await receivedText(c, 'ships again today')

  // Each page holds each entry once, in order: exactly the server's history.
  const history = (await fetchMessages(server, { role: 'user', id: userId }, conversationId)).map(
    (m) => m.messageId,
  )
  t.equal(history.length, 8, 'seven messages (four from the customer) and the assigned notice')
  await a.locator(`.chat [data-message-id="${history[history.length - 1]}"]`).waitFor()
  t.same(await drawnIds(c), history, 'the customer page shows the whole timeline, once')
  t.same(await drawnIds(a), history, 'the agent page shows the whole timeline, once')
  t.equal(await c.locator('.chat [data-state]').count(), 0, 'no send left pending or failed')

  await screenshot(c, 'outage-customer-after-reload')
  await screenshot(a, 'outage-agent-after-reload')
  t.same([...customer.faults, ...agent.faults], [], 'no page error and no CSP violation')
})
