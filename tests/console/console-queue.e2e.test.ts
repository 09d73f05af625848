import t from 'tap'
import { uniqueId } from '../support/server'
import { TestClient } from '../support/ws-client'
import { givenConsoleRig, openPage, screenshot, UI_WAIT_MS } from './support/console-harness'

// Presence thresholds short enough to see an agent leave within the test, and long enough for
// the console's SDK, which beats every 10 s: offline after 20 s of silence, left after 21 s.
const ENV = { PARLEY_OFFLINE_AFTER_MS: '20000', PARLEY_LEAVE_AFTER_MS: '21000' }
/** From the other agent's last beat (its socket opening) to its conversation back in line. */
const LEAVE_WAIT_MS = 45_000

/** Runs in the page: whether the queue is drawn as `position:conversationId:requeued` lines. */
function queueDrawnAs(expected: string[]): boolean {
  const drawn = Array.from(document.querySelectorAll<HTMLElement>('.queue li')).map(
    (li) => `${li.dataset.position}:${li.dataset.conversationId}:${li.dataset.requeued ?? ''}`,
  )
  return JSON.stringify(drawn) === JSON.stringify(expected)
}

t.test('the agent page shows the queue in serving order, a requeued one at the head', async (t) => {
  const rig = await givenConsoleRig(t, { env: ENV })
  const { server } = rig
  const { conversations } = server.parley.services
  const agentId = uniqueId('agent')
  const open = async (label: string) => {
    const userId = uniqueId(label)
    const { conversationId } = await conversations.currentConversationOf(userId)
    return { userId, conversationId }
  }

  // 1. The console agent has one seat, and gets the first customer.
  const desk = await openPage(
    t,
    rig,
    'queue-agent',
    `${server.httpUrl}/console/agent?token=${server.token('agent', agentId, 1)}`,
  )
  const a = desk.page
  t.equal(await a.locator('.boot').count(), 0, 'the "Loading…" placeholder is gone once drawn')
  await a.locator('.seats', { hasText: '0 / 1 seats' }).waitFor({ timeout: UI_WAIT_MS })
  t.equal(await a.locator('.sidebar .problem').count(), 0, 'a first visit shows no error')
  const mine = await open('first')
  await a.locator(`.open-conversations [data-conversation-id="${mine.conversationId}"]`).waitFor()

  // 2. Another agent (no heartbeats) takes the next customer; two more wait.
  const other = await TestClient.connect(server.wsUrl, server.token('agent', uniqueId('other'), 1))
  t.teardown(() => other.terminate())
  other.autoAck()
  await other.roundTrip()
  const theirs = await open('second')
  await other.next(
    (f) =>
      f.type === 'system' && f.event === 'assigned' && f.conversationId === theirs.conversationId,
  )
  const waiting = [await open('third'), await open('fourth')]

  const queue = a.locator('.queue li')
  const line = (entries: { conversationId: string; requeued?: boolean }[]) =>
    entries.map((e, i) => `${i + 1}:${e.conversationId}:${e.requeued ? 'true' : ''}`)
  const awaitLine = async (expected: string[], timeout: number, what: string) => {
    await a.waitForFunction(queueDrawnAs, expected, { timeout })
    t.pass(what)
  }
  await awaitLine(line(waiting), UI_WAIT_MS, 'the two waiting, in the order they came')
  await a.locator('.sidebar', { hasText: 'Queue (2 waiting)' }).waitFor()

  // 3. The other agent goes and, once it has left, its customer is back at the head of the line.
  await other.terminate()
  await awaitLine(
    line([{ ...theirs, requeued: true }, ...waiting]),
    LEAVE_WAIT_MS,
    'the requeued one first, marked, the others one place back',
  )
  await queue.first().locator('.requeued', { hasText: 'agent left' }).waitFor()
  await queue.first().locator('.queue-user', { hasText: theirs.userId }).waitFor()
  await screenshot(a, 'queue-agent-requeued')

  // 4. The console agent closes its conversation: the freed seat goes to the head of the line.
  await a.click('.close-conversation')
  await a
    .locator(`.open-conversations [data-conversation-id="${theirs.conversationId}"]`)
    .waitFor({ timeout: UI_WAIT_MS })
  await awaitLine(line(waiting), UI_WAIT_MS, 'the other two moved up')
  await screenshot(a, 'queue-agent-after-close')
  t.same(desk.faults, [], 'no page error and no CSP violation')
})
