import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { ErrorCode } from '../domain/shared/errors'
import type { Principal } from '../infra/auth/tokens'
import { authenticate } from './http/authenticate'
import { consoleRoutes } from './http/console-routes'
import { conversationRoutes } from './http/conversation-routes'
import { errorHandler } from './http/errors'
import { presenceRoutes } from './http/presence-routes'
import { queueRoutes } from './http/queue-routes'
import { readModelRoutes } from './http/readmodel-routes'
import { registerOpenApi } from './openapi'
import type { GatewayServices } from './services'
import { ClientSession } from './ws/session'

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal
  }
}

/**
 * The HTTP and WebSocket front of Parley, built from ready services so tests get a fresh app in
 * milliseconds. Listening is the caller's business (src/main.ts).
 */
export async function buildApp(services: GatewayServices): Promise<FastifyInstance> {
  // Fastify's own request log stays off: a WebSocket URL carries the token in its query string.
  // Errors are logged by the error handler through the injected logger instead.
  // Path parameters (ids) may be up to 128 characters; fastify's default cap is 100.
  const app = Fastify({
    routerOptions: { maxParamLength: 256 },
    // Errors the router raises before any route runs (a malformed URL) keep the error shape too.
    frameworkErrors: (err, _request, reply: FastifyReply) => {
      void reply.code(400).send({ code: ErrorCode.BadRequest, message: err.message })
    },
  })
  app.setErrorHandler(errorHandler(services.logger))
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({
      code: ErrorCode.NotFound,
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
    })
  })

  // Before every route: the OpenAPI document lists the routes registered after it.
  await registerOpenApi(app)

  // ws enforces the frame size (closing with 1009) and UTF-8 validity (closing with 1007).
  await app.register(websocket, { options: { maxPayload: services.config.maxFrameBytes } })

  app.get('/healthz', async () => ({ status: 'ok', connections: services.registry.size }))

  app.route({
    method: 'GET',
    url: '/ws',
    // Runs before the upgrade, so a bad token gets a plain HTTP 401 and no socket.
    preValidation: async (request, reply) => {
      try {
        request.principal = authenticate(request, services.tokens)
      } catch (err) {
        const message = err instanceof Error ? err.message : 'unauthorized'
        services.logger.info({ reason: message }, 'upgrade refused')
        return reply.code(401).send({ code: ErrorCode.Unauthorized, message })
      }
    },
    // A plain GET (no upgrade) is answered in the usual error shape.
    handler: async (_request, reply) =>
      reply.code(426).send({ code: ErrorCode.BadRequest, message: 'open /ws as a WebSocket' }),
    wsHandler: (socket, request) => {
      new ClientSession(socket, request.principal as Principal, services).open()
    },
  })

  conversationRoutes(app, services)
  presenceRoutes(app, services)
  readModelRoutes(app, services)
  queueRoutes(app, services)
  consoleRoutes(app)
  return app
}
