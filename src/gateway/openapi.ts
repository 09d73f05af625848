import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifySchema } from 'fastify'
import { ErrorBody, errorResponses, sharedSchemas } from './http/openapi-schemas'

/** Where the UI is served; the document is at `${DOCS_PREFIX}/json` (and `/yaml`). */
export const DOCS_PREFIX = '/docs'

/** Security schemes: the same JWT, as a bearer header or (for browsers' sockets) `?token=`. */
const securitySchemes = {
  bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
  tokenQuery: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: 'the same JWT in the query string; prefer the header (query strings get logged)',
  },
} as const

// Routes registered without a schema in app.ts, described here for the document only.
const undocumentedRoutes: Record<string, FastifySchema> = {
  '/healthz': {
    summary: 'Liveness, with the number of open sockets',
    tags: ['health'],
    security: [],
    response: {
      200: Type.Object(
        { status: Type.Literal('ok'), connections: Type.Integer({ minimum: 0 }) },
        { description: 'the server is up' },
      ),
    },
  },
  '/ws': {
    summary: 'Open the WebSocket (frames: docs/protocol.md and docs/schemas/)',
    description:
      'Upgrades to a WebSocket. The token is checked before the upgrade: without a valid one ' +
      'the answer is a plain 401 and no socket opens. Frames are JSON text; their schemas are ' +
      'docs/schemas/client-frames.schema.json and docs/schemas/server-frames.schema.json.',
    tags: ['socket'],
    response: {
      101: Type.Null({ description: 'switching protocols' }),
      ...errorResponses(401),
      426: Type.Ref(ErrorBody, { description: 'a plain GET, not an upgrade (bad_request)' }),
    },
  },
}

/** The document's view of a route: the token travels as a security scheme, not a parameter. */
function documented({ schema, url }: { schema?: FastifySchema; url: string }) {
  const given = undocumentedRoutes[url] ?? schema ?? {}
  const query = given.querystring as { properties?: Record<string, unknown> } | undefined
  if (query?.properties?.token === undefined) return { schema: given, url }

  const { token: _token, ...properties } = query.properties
  return { schema: { ...given, querystring: { ...query, properties } }, url }
}

/**
 * Registers the shared schemas, the OpenAPI document (built from the routes' TypeBox schemas)
 * and its UI at /docs, which serves its own assets and so works offline. Call it before any
 * route is added: the document lists the routes registered after it.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  for (const schema of sharedSchemas) app.addSchema(schema)

  // Response schemas document the API; they do not shape it. Serializing through them would
  // drop any field a schema lacks, and clients are promised that new fields may appear, so
  // replies stay plain JSON.stringify, as they were before the schemas existed.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Parley HTTP API',
        version: '1',
        description:
          'Read models of Parley over HTTP. Every endpoint but /healthz needs a token; errors ' +
          'are `{code, message}`. The wire contract is docs/protocol.md; the read models and ' +
          'their indexes are docs/read-models.md.',
      },
      components: { securitySchemes },
      security: [{ bearerAuth: [] }, { tokenQuery: [] }],
    },
    refResolver: {
      // Components are named after the schemas' $id (Conversation, Error, ...).
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transform: documented,
  })
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX })
}
