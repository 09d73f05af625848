import Ajv, { type ValidateFunction } from 'ajv'
import {
  clientFrameSchemas,
  MAX_CLIENT_MSG_ID_LENGTH,
  type ClientFrame,
} from '../../domain/protocol/frames'
import { DomainError, ErrorCode } from '../../domain/shared/errors'

const ajv = new Ajv({ allErrors: false, strict: true })
const validators = new Map<string, ValidateFunction>(
  Object.entries(clientFrameSchemas).map(([type, schema]) => [type, ajv.compile(schema)]),
)

/**
 * Turns a text frame into a typed client frame, or throws `bad_frame` saying what is wrong:
 * not JSON, not an object, an unknown `type`, or a missing or mistyped field. Unknown extra
 * fields are allowed so that newer clients can talk to older servers.
 */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new DomainError(ErrorCode.BadFrame, 'frame is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DomainError(ErrorCode.BadFrame, 'frame must be a JSON object')
  }

  const type = (value as { type?: unknown }).type
  const validate = typeof type === 'string' ? validators.get(type) : undefined
  if (!validate) {
    const known = [...validators.keys()].join(', ')
    throw new DomainError(ErrorCode.BadFrame, `frame type must be one of ${known}`)
  }
  if (!validate(value)) {
    const first = validate.errors?.[0]
    const where = first?.instancePath ? first.instancePath.slice(1).replace(/\//g, '.') : type
    throw new DomainError(ErrorCode.BadFrame, `${where} ${first?.message ?? 'is invalid'}`)
  }

  return value as ClientFrame
}

/** The clientMsgId of a frame that failed, when it had a usable one, to echo in the error. */
export function clientMsgIdOf(text: string): string | undefined {
  try {
    const id = (JSON.parse(text) as { clientMsgId?: unknown } | null)?.clientMsgId
    // Counted in code points, as the frame schema counts it.
    return typeof id === 'string' && [...id].length <= MAX_CLIENT_MSG_ID_LENGTH ? id : undefined
  } catch {
    return undefined
  }
}
