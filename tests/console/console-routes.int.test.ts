import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { CONSOLE_FILES } from '../../src/gateway/http/console-files'
import { consolePolicy, consoleRoutes } from '../../src/gateway/http/console-routes'
import { registerOpenApi } from '../../src/gateway/openapi'

/** A fastify with only the console route (and the API docs), over a directory of stand-in files. */
async function givenConsole(t: Test, files: Record<string, string>): Promise<FastifyInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-console-'))
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body)
  const app = Fastify()
  // As buildApp does: the shared schemas the route's documentation refers to.
  await registerOpenApi(app)
  consoleRoutes(app, { dir })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return app
}

const built = Object.fromEntries(
  Object.values(CONSOLE_FILES).map(({ file }) => [file, `contents of ${file}`]),
)
// A file next to the built ones that no URL names: it must never be served.
const secret = { ...built, 'secret.txt': 'not for the web' }

t.test('serves each page and asset with its content type and security headers', async (t) => {
  const app = await givenConsole(t, secret)
  const cases: [string, string, RegExp][] = [
    ['/console', 'index.html', /^text\/html; charset=utf-8$/],
    ['/console/', 'index.html', /^text\/html; charset=utf-8$/],
    ['/console/customer', 'customer.html', /^text\/html; charset=utf-8$/],
    ['/console/agent', 'agent.html', /^text\/html; charset=utf-8$/],
    ['/console/console.js', 'console.js', /^text\/javascript; charset=utf-8$/],
    ['/console/console.css', 'console.css', /^text\/css; charset=utf-8$/],
  ]
  for (const [url, file, type] of cases) {
    const res = await app.inject({ url, headers: { host: '127.0.0.1:8080' } })
    t.equal(res.statusCode, 200, url)
    t.equal(res.body, `contents of ${file}`, `${url} is ${file}`)
    t.match(res.headers['content-type'], type, `${url} content type`)
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.equal(res.headers['referrer-policy'], 'no-referrer')
    t.equal(res.headers['content-security-policy'], consolePolicy('127.0.0.1:8080'))
  }
})

t.test('answers 404 in the error shape for unknown names and traversal attempts', async (t) => {
  const app = await givenConsole(t, secret)
  const urls = [
    '/console/secret.txt',
    '/console/index.html',
    '/console/customer.html',
    '/console/..%2Fpackage.json',
    '/console/%2e%2e%2f%2e%2e%2fpackage.json',
    '/console/..%5Csecret.txt',
    '/console/__proto__',
    '/console/constructor',
    '/console/console.js%00.css',
  ]
  for (const url of urls) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 404, url)
    t.equal(res.json().code, 'not_found', url)
    t.notMatch(res.body, /not for the web|"name"/, `${url} leaks nothing`)
  }
  const deeper = await app.inject({ url: '/console/x/../../package.json' })
  t.not(deeper.statusCode, 200, 'a nested path is no file either')
})

t.test('says the console is not built when its files are missing', async (t) => {
  const app = await givenConsole(t, {})
  const res = await app.inject({ url: '/console/customer' })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { code: 'not_found', message: 'the console is not built: run npm run build' })
})

t.test('allows the socket on the page host only, and media from http(s) URLs', async (t) => {
  const policy = consolePolicy('parley.example.com:8443')
  t.match(policy, "connect-src 'self' ws://parley.example.com:8443 wss://parley.example.com:8443")
  t.match(policy, "script-src 'self'")
  t.match(policy, "default-src 'none'")
  t.match(policy, 'img-src http: https:')
  t.notMatch(policy, /unsafe-inline|unsafe-eval/)
  t.match(consolePolicy('[::1]:80'), 'ws://[::1]:80')
  // A Host header that is not a plain host:port must not be able to add to the policy.
  for (const host of ['evil.com; script-src *', 'a b', undefined]) {
    t.match(consolePolicy(host), "connect-src 'self';", `host ${host}`)
  }
})
