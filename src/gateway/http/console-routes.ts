import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ErrorCode } from '../../domain/shared/errors'
import {
  CONSOLE_FILES,
  CONSOLE_PREFIX,
  DEFAULT_CONSOLE_DIR,
  type ConsoleFileName,
} from './console-files'
import { ErrorBody } from './openapi-schemas'

export interface ConsoleRouteOptions {
  /** The built console (scripts/build-console.ts). Default: DEFAULT_CONSOLE_DIR (dist/console). */
  dir?: string
}

/** A Host header fit to be written into the policy; anything else leaves only 'self'. */
const PLAIN_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/

/**
 * The pages' policy: their own script, style and API (HTTP and the socket, named explicitly for
 * browsers whose 'self' does not cover ws:), and message media from any http(s) URL, since image
 * and video content points wherever the sender's CDN is. Nothing inline, no frames, no forms.
 */
export function consolePolicy(host: string | undefined): string {
  const sockets = host && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : ''
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self'${sockets}`,
    'img-src http: https:',
    'media-src http: https:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

const pageSchema = (summary: string) => ({
  summary,
  description: 'Static files of the web console (docs/console.md). No token: the page asks.',
  tags: ['console'],
  security: [],
  response: {
    200: Type.String({ description: 'the file (HTML, JavaScript or CSS)' }),
    404: Type.Ref(ErrorBody, { description: 'not a console file, or the console is not built' }),
  },
})

/**
 * Serves the built web console at /console: a fixed map of names to files, so no request path
 * ever reaches the file system. Files are read on each request (a handful, a few kB), so a new
 * build is served without a restart.
 */
export function consoleRoutes(app: FastifyInstance, options: ConsoleRouteOptions = {}): void {
  const dir = options.dir ?? DEFAULT_CONSOLE_DIR

  async function serve(name: string, request: FastifyRequest, reply: FastifyReply) {
    const entry = Object.hasOwn(CONSOLE_FILES, name)
      ? CONSOLE_FILES[name as ConsoleFileName]
      : undefined
    if (!entry) {
      return reply
        .code(404)
        .send({ code: ErrorCode.NotFound, message: `no console file ${JSON.stringify(name)}` })
    }

    let body: Buffer
    try {
      body = await readFile(join(dir, entry.file))
    } catch {
      return reply.code(404).send({
        code: ErrorCode.NotFound,
        message: 'the console is not built: run npm run build',
      })
    }
    return (
      reply
        .header('content-type', entry.type)
        .header('content-security-policy', consolePolicy(request.headers.host))
        .header('x-content-type-options', 'nosniff')
        // The page URL may carry a token: never hand it to the hosts of message images.
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache')
        .send(body)
    )
  }

  app.get(
    CONSOLE_PREFIX,
    { schema: pageSchema('The web console: links to both pages') },
    (request, reply) => serve('', request, reply),
  )
  app.get(
    `${CONSOLE_PREFIX}/:file`,
    {
      schema: {
        ...pageSchema('A console page (customer, agent) or asset (console.js, console.css)'),
        params: Type.Object({ file: Type.String({ maxLength: 64 }) }),
      },
    },
    (request, reply) => serve((request.params as { file: string }).file, request, reply),
  )
}
