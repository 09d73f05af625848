import Ajv, { type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { DomainError, ErrorCode } from '../shared/errors'
import { contentSchemas, type Content, type ContentFormat } from './schema'

// Ajv counts string lengths in code points, as MAX_TEXT_LENGTH is documented.
const ajv = new Ajv({ allErrors: false, strict: true })
addFormats(ajv)

const validators = new Map<string, ValidateFunction>(
  Object.entries(contentSchemas).map(([format, schema]) => [format, ajv.compile(schema)]),
)

/**
 * Checks a message's content and returns it typed, or throws `invalid_content` with a message
 * that names the field. The format is looked up first so the error speaks of the schema the
 * sender meant instead of a union's five failures.
 */
export function validateContent(value: unknown): Content {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DomainError(ErrorCode.InvalidContent, 'content must be an object')
  }

  const format = (value as { format?: unknown }).format
  const validate = typeof format === 'string' ? validators.get(format) : undefined
  if (!validate) {
    const known = [...validators.keys()].join(', ')
    throw new DomainError(ErrorCode.InvalidContent, `content.format must be one of ${known}`)
  }

  if (!validate(value)) {
    const first = validate.errors?.[0]
    const where = `content${first?.instancePath.replace(/\//g, '.') ?? ''}`
    const extra =
      first?.params && 'additionalProperty' in first.params
        ? ` (${String(first.params.additionalProperty)})`
        : ''
    throw new DomainError(
      ErrorCode.InvalidContent,
      `${where} ${first?.message ?? 'is invalid'}${extra}`,
      {
        format: format as ContentFormat,
      },
    )
  }

  return value as Content
}
