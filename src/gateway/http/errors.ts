import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { DomainError, ErrorCode, ParleyError } from '../../domain/shared/errors'
import { PROJECTION_TIMEOUT } from '../../projections/progress'
import type { Logger } from '../../infra/logging/logger'

const STATUS: Partial<Record<string, number>> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.BadFrame]: 400,
  [ErrorCode.InvalidContent]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.ConversationClosed]: 409,
  [ErrorCode.RateLimited]: 429,
}

/** Every HTTP error leaves as `{code, message}`: domain errors by code, schema errors as 400. */
export function errorHandler(logger: Logger) {
  return (err: FastifyError | Error, _request: FastifyRequest, reply: FastifyReply): void => {
    if (err instanceof DomainError) {
      void reply.code(STATUS[err.code] ?? 400).send({ code: err.code, message: err.message })
      return
    }
    if (err instanceof ParleyError && err.code === PROJECTION_TIMEOUT) {
      void reply.code(503).send({ code: ErrorCode.Unavailable, message: 'read models are behind' })
      return
    }
    const fastifyErr = err as FastifyError
    if (fastifyErr.validation) {
      void reply.code(400).send({ code: ErrorCode.BadRequest, message: fastifyErr.message })
      return
    }
    if (fastifyErr.statusCode && fastifyErr.statusCode < 500) {
      void reply
        .code(fastifyErr.statusCode)
        .send({ code: ErrorCode.BadRequest, message: fastifyErr.message })
      return
    }
    logger.error({ err }, 'request failed')
    void reply.code(500).send({ code: ErrorCode.Internal, message: 'internal error' })
  }
}
