import { DomainError, ErrorCode } from '../../domain/shared/errors'

/**
 * Page cursors: the sort key of a page's last item and its id, tagged with the list they belong
 * to, as base64url JSON. Clients treat them as opaque; the tag makes a cursor from one list a
 * 400 on another instead of a silently wrong page.
 */
export const CursorKind = {
  Conversations: 'c',
  Pending: 'p',
  Presence: 'r',
  Agents: 'a',
  Queue: 'q',
} as const
export type CursorKind = (typeof CursorKind)[keyof typeof CursorKind]

type Part = 'string' | 'number'
type Value<P extends Part> = P extends 'string' ? string : number
type Values<S extends readonly Part[]> = { [K in keyof S]: Value<S[K]> }

/**
 * Longest cursor accepted: 2048. The longest the server makes holds a role and a 128-character
 * id whose characters may take up to 6 bytes of JSON each, about 1100 characters in base64.
 */
export const MAX_CURSOR_LENGTH = 2048

export function encodeCursor(kind: CursorKind, values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify([kind, ...values])).toString('base64url')
}

/** The values of a cursor of this kind and shape; anything else is a 400 `bad_request`. */
export function decodeCursor<const S extends readonly Part[]>(
  kind: CursorKind,
  cursor: string,
  shape: S,
): Values<S> {
  const invalid = () => new DomainError(ErrorCode.BadRequest, 'cursor is not valid for this list')
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw invalid()
  }
  if (!Array.isArray(parsed) || parsed[0] !== kind || parsed.length !== shape.length + 1) {
    throw invalid()
  }

  const values = parsed.slice(1)
  const fits = values.every((v, i) =>
    shape[i] === 'number' ? Number.isSafeInteger(v) : typeof v === 'string' && v.length > 0,
  )
  if (!fits) throw invalid()
  return values as Values<S>
}
