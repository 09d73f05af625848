import t from 'tap'
import { fetchMessages, uniqueId } from '../support/server'
import {
  compose,
  confirmedText,
  givenConsoleRig,
  openPage,
  openTab,
  screenshot,
} from './support/console-harness'

/** Reconnecting waits out the SDK's backoff (capped exponential, full jitter): allow for it. */
const RECONNECT_WAIT_MS = 40_000

t.test('two tabs of one customer each keep their own pending send across a reload', async (t) => {
  const rig = await givenConsoleRig(t)
  const { server, proxy } = rig
  const userId = uniqueId('customer')
  const url = `${proxy.url}/console/customer?token=${server.token('user', userId)}`

  // 1. Two tabs of one browser profile (one localStorage), both signed in as the customer.
  const first = await openPage(t, rig, 'tabs-first', url)
  const one = first.page
  const two = await openTab(t, first, 'tabs-second', url)
  await compose(one, 'text', { text: 'Hello from the first tab' })
  await confirmedText(one, 'from the first tab')
  const conversationId = (await one.getAttribute('.divider', 'data-conversation-id')) as string

  // 2. Offline, each tab writes one message: both wait as pending, each in its own tab.
  proxy.cut()
  await first.context.setOffline(true)
  for (const page of [one, two]) await page.locator('[data-status="reconnecting"]').waitFor()
  await compose(one, 'text', { text: 'Pending in tab one' })
  await one.locator('.chat [data-state="pending"]').waitFor()
  await compose(two, 'text', { text: 'Pending in tab two' })
  await two.locator('.chat [data-state="pending"]').waitFor()
  await screenshot(two, 'tabs-second-offline')

  // 3. Both tabs reload while the server is out of reach: only storage holds the two sends.
  for (const page of [one, two]) {
    await page.reload().then(
      () => t.fail('the reload should not reach the server while offline'),
      () => undefined,
    )
  }
  await first.context.setOffline(false)
  proxy.restore()
  for (const page of [one, two]) await page.goto(url)

  // 4. Each tab sends its own message once; neither lost the other's.
  await confirmedText(one, 'Pending in tab one')
  await confirmedText(two, 'Pending in tab two')
  for (const page of [one, two]) {
    await page.locator('[data-status="open"]').waitFor({ timeout: RECONNECT_WAIT_MS })
  }
  const history = await fetchMessages(server, { role: 'user', id: userId }, conversationId)
  const texts = history.flatMap((m) => {
    const content = m.content as { text?: string } | undefined
    return content?.text ? [content.text] : []
  })
  t.same(
    [...texts].sort(),
    ['Hello from the first tab', 'Pending in tab one', 'Pending in tab two'].sort(),
    'each message stored exactly once',
  )
  for (const page of [one, two]) {
    t.equal(await page.locator('.chat [data-state]').count(), 0, 'no send left pending or failed')
  }
  await screenshot(two, 'tabs-second-after-reload')
  t.same(first.faults, [], 'no page error and no CSP violation')
})
