import { Validator } from '@seriousme/openapi-schema-validator'
import Ajv, { type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import t from 'tap'
import {
  openConversation,
  startTestServer,
  text,
  uniqueId,
  type TestServer,
} from '../support/server'

// The OpenAPI document at /docs/json and its UI at /docs: valid, complete, and true to what the
// endpoints really answer.

type Operation = { responses: Record<string, { content?: Record<string, { schema: object }> }> }
type OpenApi = {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, object>; securitySchemes: Record<string, object> }
  security: object[]
}

/**
 * Every (method, path) the app routes, from fastify's route tree, with `:param` written as
 * OpenAPI's `{param}`; HEAD (added by fastify to every GET) is left out, as the document does.
 */
function routesOf(server: TestServer): string[] {
  const tree = server.parley.app.printRoutes({ commonPrefix: false })
  const stack: string[] = []
  const routes: string[] = []
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line)
    if (!match) continue
    const depth = match[1].length / 4
    stack.length = depth
    stack.push(match[2])
    const path = stack
      .join('')
      .replace(/:(\w+)/g, '{$1}')
      .replace(/(.)\/$/, '$1')
    for (const method of (match[3] ?? '').split(', ').filter((m) => m && m !== 'HEAD')) {
      routes.push(`${method} ${path}`)
    }
  }
  return routes.sort()
}

/** Checks a reply against the schema the document gives for its route and status. */
function responseChecker(doc: OpenApi) {
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats(ajv)
  const compiled = new Map<string, ValidateFunction>()
  return (method: string, path: string, status: number, body: unknown): string | null => {
    const response = doc.paths[path]?.[method]?.responses[String(status)]
    const schema = response?.content?.['application/json']?.schema
    if (!schema) return `no ${status} documented for ${method.toUpperCase()} ${path}`
    const key = `${method} ${path} ${status}`
    let validate = compiled.get(key)
    if (!validate) {
      validate = ajv.compile({ ...schema, components: doc.components })
      compiled.set(key, validate)
    }
    return validate(body) ? null : ajv.errorsText(validate.errors)
  }
}

t.test('the OpenAPI document and its UI', async (t) => {
  const server = await startTestServer({ env: { PARLEY_RATE_LIMIT: '1000/s' } })
  t.teardown(() => server.close())
  const docResponse = await fetch(`${server.httpUrl}/docs/json`)
  const doc = (await docResponse.json()) as OpenApi

  t.test('serves the UI at /docs with its own assets, without a token', async (t) => {
    const page = await fetch(`${server.httpUrl}/docs`)
    const html = await page.text()
    t.equal(page.status, 200)
    t.match(page.headers.get('content-type'), /text\/html/)
    t.match(html, /swagger-ui/i)

    const assets = [...html.matchAll(/(?:src|href)="([^"]+\.(?:js|css|png))"/g)].map((m) => m[1])
    t.ok(assets.length > 0, 'the page names its scripts and styles')
    for (const asset of assets) {
      const url = new URL(asset, `${server.httpUrl}/docs/`)
      const res = await fetch(url)
      const bytes = (await res.arrayBuffer()).byteLength
      t.ok(res.status === 200 && bytes > 0, `${url.pathname} is served locally`)
    }
  })

  t.test('serves /docs/json as a valid OpenAPI 3 document', async (t) => {
    t.equal(docResponse.status, 200)
    t.match(doc.openapi, /^3\./)
    const result = await new Validator().validate(doc as never)
    t.same(result, { valid: true }, JSON.stringify(result.errors))
  })

  t.test('lists every route the server answers', async (t) => {
    const documented = Object.entries(doc.paths)
      .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
      .sort()
    const served = routesOf(server).filter((route) => !/ \/docs(\/|$)/.test(route))

    t.ok(served.length >= 10, 'the route tree was read')
    t.same(documented, served)
  })

  t.test('documents the bearer token, and /healthz as open', async (t) => {
    t.same(doc.components.securitySchemes.bearerAuth, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    })
    t.match(doc.components.securitySchemes.tokenQuery, {
      type: 'apiKey',
      in: 'query',
      name: 'token',
    })
    t.same(doc.security, [{ bearerAuth: [] }, { tokenQuery: [] }])
    t.same((doc.paths['/healthz'].get as { security?: unknown }).security, [])
    const list = doc.paths['/v1/conversations'].get as unknown as { parameters: { name: string }[] }
    const listQuery = list.parameters
    t.notOk(
      listQuery.some((p) => p.name === 'token'),
      'the query token is the security scheme, not a parameter',
    )
  })

  t.test('every reply matches the schema documented for its status', async (t) => {
    const check = responseChecker(doc)
    // One seat: a second customer then waits, so the queue has an entry to check.
    const opened = await openConversation(server, { seats: 1 })
    t.teardown(() => Promise.all([opened.user.close(), opened.agent.close()]))
    await server.parley.services.conversations.currentConversationOf(uniqueId('waiting'))
    const { conversationId, userId, agentId } = opened
    const admin = server.token('admin', uniqueId('admin'))
    const user = server.token('user', userId)
    const agent = server.token('agent', agentId)
    // One reply the user leaves unacknowledged, so the pending list has a row to check.
    opened.user.stopAutoAck()
    const reply = await opened.agent.sendMessage({
      clientMsgId: uniqueId('m'),
      conversationId,
      content: text('unread'),
    })
    await opened.user.next((f) => f.type === 'message' && f.messageId === reply.messageId)

    const calls: [path: string, route: string, token?: string][] = [
      ['/healthz', '/healthz'],
      ['/v1/conversations?limit=1', '/v1/conversations', admin],
      [`/v1/conversations/${conversationId}`, '/v1/conversations/{id}', user],
      [`/v1/conversations/${conversationId}/messages`, '/v1/conversations/{id}/messages', agent],
      [`/v1/presence/user/${userId}`, '/v1/presence/{role}/{id}', agent],
      [`/v1/agents/${agentId}`, '/v1/agents/{id}', agent],
      [`/v1/pending/agent/${agentId}`, '/v1/pending/{role}/{id}', agent],
      [`/v1/pending/user/${userId}?limit=1`, '/v1/pending/{role}/{id}', admin],
      [`/v1/pending/user/${userId}`, '/v1/pending/{role}/{id}', user],
      ['/v1/presence?limit=1', '/v1/presence', admin],
      ['/v1/agents', '/v1/agents', admin],
      ['/v1/queue?limit=1', '/v1/queue', agent],
      // Errors
      ['/v1/conversations?limit=0', '/v1/conversations', admin],
      ['/v1/conversations', '/v1/conversations', undefined],
      [`/v1/conversations/${conversationId}`, '/v1/conversations/{id}', server.token('user', 'x')],
      ['/v1/conversations/4242', '/v1/conversations/{id}', admin],
      [`/v1/presence/user/${uniqueId('ghost')}`, '/v1/presence/{role}/{id}', admin],
      ['/v1/agents', '/v1/agents', user],
      ['/v1/presence?status=away', '/v1/presence', admin],
      [`/v1/pending/user/${userId}`, '/v1/pending/{role}/{id}', agent],
      ['/v1/queue', '/v1/queue', user],
      ['/v1/queue?cursor=x', '/v1/queue', admin],
      ['/ws', '/ws', undefined],
      ['/ws', '/ws', user],
    ]
    const statuses = new Set<number>()
    const listsWithItems = new Set<string>()
    for (const [path, route, token] of calls) {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
      const res = await fetch(`${server.httpUrl}${path}`, { headers })
      const body = (await res.json()) as Record<string, unknown>
      statuses.add(res.status)
      t.equal(check('get', route, res.status, body), null, `${path}: ${res.status}`)
      const items = Object.values(body).find(Array.isArray)
      if (res.status === 200 && items && items.length > 0) listsWithItems.add(route)
    }
    t.same([...statuses].sort(), [200, 400, 401, 403, 404, 426], 'successes and each kind of error')
    t.same(
      [...listsWithItems].sort(),
      [
        '/v1/agents',
        '/v1/conversations',
        '/v1/conversations/{id}/messages',
        '/v1/pending/{role}/{id}',
        '/v1/presence',
        '/v1/queue',
      ],
      'every list was checked with items in it',
    )
  })
})
