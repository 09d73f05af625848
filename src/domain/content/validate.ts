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

  checkStrings(value as Record<string, unknown>)
  return value as Content
}

// A surrogate not paired with its other half: not Unicode text at all.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
// Control characters other than tab and line breaks have no place in displayed text.
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/

/**
 * What a JSON schema cannot say: every string must be well-formed Unicode (JSON escapes can
 * carry lone surrogates that strict UTF-8 clients reject) without control characters, and a
 * display text must show something.
 */
function checkStrings(content: Record<string, unknown>): void {
  for (const [field, v] of Object.entries(content)) {
    if (typeof v !== 'string') continue
    if (LONE_SURROGATE.test(v) || FORBIDDEN_CONTROL.test(v)) {
      throw new DomainError(ErrorCode.InvalidContent, `content.${field} has invalid characters`)
    }
    if (field === 'text' && v.trim().length === 0) {
      throw new DomainError(ErrorCode.InvalidContent, 'content.text must not be blank')
    }
  }
}
