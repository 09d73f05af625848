import t from 'tap'
import { fetchMessages, uniqueId } from '../support/server'
import { TestClient, type Frame } from '../support/ws-client'
import {
  compose,
  confirmedText,
  connected,
  drawnIds,
  givenConsoleRig,
  MEDIA,
  openPage,
  receivedText,
  screenshot,
  UI_WAIT_MS,
} from './support/console-harness'

const notice = (event: string, conversationId: string) => (f: Frame) =>
  f.type === 'system' && f.event === event && f.conversationId === conversationId

t.test(
  'a customer and an agent chat in every format, with queue, seats, unread counts and closing',
  async (t) => {
    const rig = await givenConsoleRig(t)
    const { server } = rig
    const userId = uniqueId('customer')
    const agentId = uniqueId('agent')

    // 1. The customer writes first, with no agent around: the conversation waits in the queue.
    const customer = await openPage(
      t,
      rig,
      'chat-customer',
      `${rig.proxy.url}/console/customer?token=${server.token('user', userId)}`,
    )
    const c = customer.page
    await compose(c, 'text', { text: 'Hello, where is my kettle?' })
    const firstId = await confirmedText(c, 'where is my kettle')
    await c.locator('[data-event="queued"]', { hasText: 'number 1 in the queue' }).waitFor()
    const conversationId = (await c.getAttribute('.divider', 'data-conversation-id')) as string

    // 2. The agent (2 seats) opens the desk: the conversation is assigned to them.
    const agent = await openPage(
      t,
      rig,
      'chat-agent',
      `${server.httpUrl}/console/agent?token=${server.token('agent', agentId, 2)}`,
    )
    const a = agent.page
    await a.locator(`.open-conversations [data-conversation-id="${conversationId}"]`).waitFor()
    await c.locator('[data-event="assigned"]', { hasText: agentId }).waitFor()
    t.equal(
      await receivedText(a, 'where is my kettle'),
      firstId,
      'the agent sees the first message',
    )
    await a.locator('.seats', { hasText: '1 / 2 seats' }).waitFor()
    await screenshot(c, 'chat-customer-assigned')

    // 3. Every format, both ways.
    await compose(a, 'text', { text: 'Hi! Let me look that up.' })
    await receivedText(c, 'Let me look that up')
    await compose(c, 'image', {
      url: `${MEDIA}/kettle-photo.svg`,
      width: '320',
      height: '200',
      text: 'This one',
    })
    await compose(c, 'order_card', {
      orderId: 'SO-2291',
      title: 'Blue kettle, 1.7 l',
      price: '34.99',
      currency: 'EUR',
      imageUrl: `${MEDIA}/kettle.svg`,
      text: 'Ordered last week',
    })
    await compose(a, 'video', {
      url: `${MEDIA}/unboxing.mp4`,
      coverUrl: `${MEDIA}/unboxing-cover.svg`,
      durationSec: '12.5',
      text: 'How to unpack it',
    })
    await compose(a, 'coupon', {
      couponId: 'SORRY10',
      title: '10 % off your next order',
      price: '10',
      currency: 'EUR',
      expiresAt: '2026-12-31T23:59:59Z',
      text: 'Sorry for the wait',
    })
    await compose(a, 'image', { url: `${MEDIA}/tracking-map.svg`, text: 'It is here now' })

    for (const [page, side, format, shows] of [
      [a, 'theirs', 'image', 'This one'],
      [a, 'theirs', 'order_card', '€34.99'],
      [c, 'own', 'order_card', 'SO-2291'],
      [c, 'theirs', 'video', '0:13'],
      [c, 'theirs', 'coupon', 'SORRY10'],
      [c, 'theirs', 'coupon', '€10.00 off'],
      [c, 'theirs', 'image', 'It is here now'],
      [a, 'own', 'coupon', 'valid until'],
    ] as const) {
      const item = page.locator(
        `.chat .message.${side}[data-message-id][data-format="${format}"]`,
        {
          hasText: shows,
        },
      )
      await item.waitFor({ timeout: UI_WAIT_MS })
    }
    const loaded = (page: typeof c, selector: string) =>
      page.$$eval(selector, (imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth > 0))
    await c.waitForFunction(() =>
      Array.from(document.querySelectorAll('.chat img')).every(
        (i) => (i as HTMLImageElement).complete,
      ),
    )
    t.same(await loaded(c, '.chat .media.image img'), [true, true], 'images load under the CSP')
    t.same(await loaded(c, '.chat .video-cover img'), [true], 'the video shows its cover')
    t.equal(await c.locator('.chat video').count(), 0, 'no player before a click on the cover')

    // 4. A send the server refuses shows as failed, with Retry and Discard.
    await compose(c, 'image', { url: 'ftp://files.example.test/kettle.png' })
    const failed = c.locator('.chat [data-state="failed"]')
    await failed.locator('.retry').waitFor()
    t.match(await failed.textContent(), /invalid_content/, 'the failure names its code')
    await screenshot(c, 'chat-customer-failed')
    await failed.locator('.retry').click()
    await failed.locator('.retry').waitFor()
    await failed.locator('.discard').click()
    await failed.waitFor({ state: 'detached' })

    // 5. A second customer takes the agent's last seat; a third waits in the queue.
    const second = await TestClient.connect(server.wsUrl, server.token('user', uniqueId('second')))
    t.teardown(() => second.close())
    second.autoAck()
    const secondSent = await second.sendMessage({
      clientMsgId: uniqueId('m'),
      content: { format: 'text', text: 'Can I change my address?' },
    })
    const secondConversation = String(secondSent.conversationId)
    await second.next(notice('assigned', secondConversation))
    const third = await TestClient.connect(server.wsUrl, server.token('user', uniqueId('third')))
    t.teardown(() => third.close())
    third.autoAck()
    const thirdSent = await third.sendMessage({
      clientMsgId: uniqueId('m'),
      content: { format: 'text', text: 'Anyone there?' },
    })
    const thirdConversation = String(thirdSent.conversationId)
    await third.next(notice('queued', thirdConversation))

    const secondEntry = a.locator(
      `.open-conversations [data-conversation-id="${secondConversation}"]`,
    )
    await secondEntry.locator('.unread', { hasText: '1' }).waitFor({ timeout: UI_WAIT_MS })
    await a.locator('.seats', { hasText: '2 / 2 seats' }).waitFor({ timeout: UI_WAIT_MS })
    await a
      .locator(`.queue [data-conversation-id="${thirdConversation}"]`)
      .waitFor({ timeout: UI_WAIT_MS })
    await screenshot(a, 'chat-agent-desk')
    await screenshot(c, 'chat-customer')

    // 6. The agent reads the second conversation, goes back to the first and reloads the tab:
    // the choice and what was read survive, so the second shows nothing unread.
    await secondEntry.click()
    await receivedText(a, 'change my address')
    await secondEntry.locator('.unread').waitFor({ state: 'detached' })
    const firstEntry = a.locator(`.open-conversations [data-conversation-id="${conversationId}"]`)
    await firstEntry.click()
    await receivedText(a, 'where is my kettle')
    await a.reload()
    await connected(a)
    await firstEntry.and(a.locator('[aria-current="true"]')).waitFor({ timeout: UI_WAIT_MS })
    await receivedText(a, 'where is my kettle')
    await secondEntry.locator('.conversation-preview', { hasText: 'assigned to you' }).waitFor()
    t.equal(await secondEntry.locator('.unread').count(), 0, 'read before the reload: not unread')

    // 7. Switching reads the conversation; answering and closing it frees the seat for the queue.
    await secondEntry.click()
    await receivedText(a, 'change my address')
    await secondEntry.locator('.unread').waitFor({ state: 'detached' })
    await compose(a, 'text', { text: 'Yes, send me the new one.' })
    const reply = await second.next(
      (f) => f.type === 'message' && f.conversationId === secondConversation,
    )
    t.match(reply.content, { text: 'Yes, send me the new one.' }, 'the second customer hears back')
    await a.click('.close-conversation')
    const closed = await second.next(notice('closed', secondConversation))
    t.equal(closed.reason, 'agent_closed')
    await third.next(notice('assigned', thirdConversation))
    await a
      .locator(`.open-conversations [data-conversation-id="${thirdConversation}"]`)
      .waitFor({ timeout: UI_WAIT_MS })
    await a.locator('.sidebar', { hasText: 'Queue (0 waiting)' }).waitFor({ timeout: UI_WAIT_MS })
    await a
      .locator(`.closed-conversations [data-conversation-id="${secondConversation}"]`)
      .waitFor()

    // 8. Back to the first customer; the agent closes, the customer is told why.
    await a.click(`[data-conversation-id="${conversationId}"]`)
    await a.click('.close-conversation')
    await c
      .locator('[data-event="closed"]', { hasText: 'closed by the agent' })
      .waitFor({ timeout: UI_WAIT_MS })

    // Each page drew each entry of the conversation once: exactly the server's history.
    const history = (await fetchMessages(server, { role: 'user', id: userId }, conversationId)).map(
      (m) => m.messageId,
    )
    t.same(await drawnIds(c), history, 'the customer page shows the whole timeline, once, in order')
    await a.locator(`.chat [data-message-id="${history[history.length - 1]}"]`).waitFor()
    t.same(await drawnIds(a), history, 'the agent page shows the whole timeline, once, in order')

    await screenshot(a, 'chat-agent-closed')
    await screenshot(c, 'chat-customer-closed')

    // The player comes with a click on the cover; this video's file is missing on the CDN.
    await c.click('.chat .video-cover')
    await c.locator(`.chat video[src="${MEDIA}/unboxing.mp4"]`).waitFor()
    await c.locator('.chat .video-failed').waitFor({ timeout: UI_WAIT_MS })
    t.same([...customer.faults, ...agent.faults], [], 'no page error and no CSP violation')
  },
)
