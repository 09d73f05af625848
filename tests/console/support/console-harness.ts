import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { Test } from 'tap'
import { buildConsole } from '../../../scripts/build-console'
import { packageRoot } from '../../../src/gateway/http/console-files'
import { startTestServer, type TestServer } from '../../support/server'
import { startCutProxy, type CutProxy } from './cut-proxy'

/** Debian's Chromium: browsers cannot be downloaded here, so the tests drive this one. */
export const CHROMIUM_PATH = '/usr/bin/chromium'

/** Screenshots land here (gitignored). */
export const ARTIFACTS_DIR = join(packageRoot(__dirname), 'test-artifacts', 'console')

/** How long a browser test waits for something to show before failing (ms). */
export const UI_WAIT_MS = 15_000

/** A made-up CDN the browser contexts answer themselves, so media loads without a network. */
export const MEDIA = 'https://media.example.test'

let built: Promise<string[]> | undefined

/** Builds the console into dist/console once per test process: no manual build needed. */
export function ensureConsoleBuilt(): Promise<string[]> {
  built ??= buildConsole()
  return built
}

export interface ConsoleRig {
  server: TestServer
  browser: Browser
  /** The customer's way to the server; `cut()` is their network outage. */
  proxy: CutProxy
}

/**
 * A built console, a real Parley on 127.0.0.1, a cuttable proxy in front of it for the customer
 * and a headless Chromium; all stopped in teardown. Fails (never skips) without Chromium.
 * `env` configures the server as the environment would (default: none).
 */
export async function givenConsoleRig(
  t: Test,
  options: { env?: Record<string, string> } = {},
): Promise<ConsoleRig> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: the web console tests drive Debian's Chromium; ` +
        'install it with `apt-get install chromium`',
    )
  }
  await ensureConsoleBuilt()
  mkdirSync(ARTIFACTS_DIR, { recursive: true })

  const server = await startTestServer({ env: options.env })
  t.teardown(() => server.close())
  const proxy = await startCutProxy(Number(new URL(server.httpUrl).port))
  t.teardown(() => proxy.close())
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox'],
    timeout: 30_000,
  })
  t.teardown(() => browser.close())
  return { server, browser, proxy }
}

export interface OpenedPage {
  context: BrowserContext
  page: Page
  /** Uncaught page errors and Content-Security-Policy violations: a test ends with none. */
  faults: string[]
}

/** A picture for the made-up CDN: an SVG with a label, so screenshots show what is what. */
function picture(label: string): string {
  const hue = [...label].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7)
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200" viewBox="0 0 320 200">` +
    `<rect width="320" height="200" fill="hsl(${hue},55%,62%)"/>` +
    `<text x="160" y="110" font-size="28" text-anchor="middle" fill="#fff" ` +
    `font-family="sans-serif">${label}</text></svg>`
  )
}

/**
 * A browser context of its own (own storage, own network) with one page open at `url`. If the
 * test fails, the page's last state is saved as test-artifacts/console/failed-<name>.png.
 * With `paste`, the token goes into the page's paste box instead of the URL.
 */
export async function openPage(
  t: Test,
  rig: ConsoleRig,
  name: string,
  url: string,
  options: { paste?: string } = {},
): Promise<OpenedPage> {
  const context = await rig.browser.newContext({ viewport: { width: 1100, height: 1100 } })
  // Registered before the browser's own teardown, so it runs first (teardowns run in reverse).
  t.teardown(async () => {
    if (!t.passing()) await page.screenshot({ path: join(ARTIFACTS_DIR, `failed-${name}.png`) })
  })
  await context.route(`${MEDIA}/**`, (route) => {
    const path = new URL(route.request().url()).pathname
    // Pictures only: a video URL finds nothing, as on a CDN that lost the file.
    if (!path.endsWith('.svg')) return route.fulfill({ status: 404, body: '' })
    const name = path.replace(/^\/|\.svg$/g, '')
    return route.fulfill({ status: 200, contentType: 'image/svg+xml', body: picture(name) })
  })
  const page = await context.newPage()
  const faults: string[] = []
  page.on('pageerror', (err) => faults.push(`page error: ${err.message}`))
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) faults.push(`CSP: ${message.text()}`)
  })
  await page.goto(url)
  if (options.paste !== undefined) await pasteToken(page, options.paste)
  await connected(page)
  return { context, page, faults }
}

/**
 * Another tab in an opened page's browser context (same localStorage, its own sessionStorage),
 * at `url`, with its faults collected into the first page's.
 */
export async function openTab(
  t: Test,
  opened: OpenedPage,
  name: string,
  url: string,
): Promise<Page> {
  const page = await opened.context.newPage()
  t.teardown(async () => {
    if (!t.passing()) await page.screenshot({ path: join(ARTIFACTS_DIR, `failed-${name}.png`) })
  })
  page.on('pageerror', (err) => opened.faults.push(`page error (${name}): ${err.message}`))
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) {
      opened.faults.push(`CSP (${name}): ${message.text()}`)
    }
  })
  await page.goto(url)
  await connected(page)
  return page
}

/** Signs in through the page's paste box (for a URL without `?token=`). */
export async function pasteToken(page: Page, token: string): Promise<void> {
  await page.fill('.token-gate textarea[name="token"]', token)
  await page.click('.token-gate button[type="submit"]')
}

/** Waits until the page's SDK says its socket is open. */
export async function connected(page: Page): Promise<void> {
  await page.locator('[data-status="open"]').waitFor({ timeout: UI_WAIT_MS })
}

/** Writes and sends one message through the page's composer. */
export async function compose(
  page: Page,
  format: 'text' | 'image' | 'video' | 'order_card' | 'coupon',
  fields: Record<string, string>,
): Promise<void> {
  await page.selectOption('.composer select[name="format"]', format)
  for (const [name, value] of Object.entries(fields)) {
    await page.fill(`.composer [name="${name}"]`, value)
  }
  await page.click('.composer .send')
}

/** The messageIds of every timeline entry drawn in the page's chat, in page order. */
export function drawnIds(page: Page): Promise<string[]> {
  return page.$$eval('.chat [data-message-id]', (nodes) =>
    nodes.map((n) => (n as HTMLElement).dataset.messageId ?? ''),
  )
}

/** Waits until an own message with this text is confirmed (drawn with a messageId). */
export async function confirmedText(page: Page, text: string): Promise<string> {
  const item = page.locator('.chat .message.own[data-message-id]', { hasText: text })
  await item.waitFor({ timeout: UI_WAIT_MS })
  return (await item.getAttribute('data-message-id')) as string
}

/** Waits until a message from the other side with this text is drawn. */
export async function receivedText(page: Page, text: string): Promise<string> {
  const item = page.locator('.chat .message.theirs[data-message-id]', { hasText: text })
  await item.waitFor({ timeout: UI_WAIT_MS })
  return (await item.getAttribute('data-message-id')) as string
}

/** Saves a screenshot of the page under test-artifacts/console/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`) })
}
