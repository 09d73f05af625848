import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TSchema } from '@sinclair/typebox'
import {
  Content,
  CouponContent,
  ImageContent,
  OrderCardContent,
  TextContent,
  VideoContent,
} from '../src/domain/content/schema'
import {
  clientFrameDocSchemas,
  ParticipantSchema,
  serverFrameSchemas,
} from '../src/domain/protocol/frame-schemas'

/**
 * Writes the socket protocol's JSON schemas to docs/schemas/ (`npm run export-schemas`), from
 * the same TypeBox schemas the server validates and documents with. Each file stands alone:
 * shared parts sit under `definitions` and are referenced by JSON pointer.
 */
export const SCHEMA_DIR = join(__dirname, '..', 'docs', 'schemas')

const DRAFT = 'http://json-schema.org/draft-07/schema#'

/** Named parts, found by identity wherever a schema uses them. */
const names = new Map<unknown, string>([
  [Content, 'Content'],
  [TextContent, 'TextContent'],
  [ImageContent, 'ImageContent'],
  [VideoContent, 'VideoContent'],
  [OrderCardContent, 'OrderCardContent'],
  [CouponContent, 'CouponContent'],
  [ParticipantSchema, 'Participant'],
  ...Object.values(clientFrameDocSchemas).map((s): [unknown, string] => [s, String(s.$id)]),
  ...Object.values(serverFrameSchemas).map((s): [unknown, string] => [s, String(s.$id)]),
])

/**
 * One self-contained document: `oneOf` the given schemas, each a definition; every named part
 * they use becomes a definition too. Nested `$id`s are dropped, as they would move the base URI
 * that the `#/definitions/...` pointers resolve against.
 */
function document(id: string, description: string, roots: readonly TSchema[]): object {
  const definitions: Record<string, unknown> = {}

  const define = (schema: unknown): { $ref: string } => {
    const name = names.get(schema) as string
    if (!(name in definitions)) {
      definitions[name] = null // reserved first, so a cycle would end here
      definitions[name] = copy(schema, true)
    }
    return { $ref: `#/definitions/${name}` }
  }

  const copy = (value: unknown, isRoot = false): unknown => {
    if (Array.isArray(value)) return value.map((v) => copy(v))
    if (value === null || typeof value !== 'object') return value
    if (!isRoot && names.has(value)) return define(value)

    // JSON keys only: TypeBox's own markers are symbols and stay behind.
    const entries = Object.entries(value).filter(([key]) => key !== '$id')
    return Object.fromEntries(entries.map(([key, v]) => [key, copy(v)]))
  }

  const oneOf = roots.map(define)
  return { $schema: DRAFT, $id: id, title: id, description, oneOf, definitions }
}

/** The documents by file name, as `npm run export-schemas` writes them. */
export function schemaDocuments(): Record<string, string> {
  const documents: Record<string, object> = {
    'content.schema.json': document(
      'content.schema.json',
      'Message content, by `format`; strict: a field a format does not list is refused.',
      [TextContent, ImageContent, VideoContent, OrderCardContent, CouponContent],
    ),
    'client-frames.schema.json': document(
      'client-frames.schema.json',
      'Frames a client sends over the socket, by `type`. Unknown fields are ignored.',
      Object.values(clientFrameDocSchemas),
    ),
    'server-frames.schema.json': document(
      'server-frames.schema.json',
      'Frames the server sends over the socket, by `type`. New fields, notice names and error ' +
        'codes may appear: ignore what you do not know.',
      Object.values(serverFrameSchemas),
    ),
  }
  return Object.fromEntries(
    Object.entries(documents).map(([file, doc]) => [file, `${JSON.stringify(doc, null, 2)}\n`]),
  )
}

function main(): void {
  const documents = schemaDocuments()
  mkdirSync(SCHEMA_DIR, { recursive: true })
  for (const file of readdirSync(SCHEMA_DIR)) {
    if (file.endsWith('.schema.json') && !(file in documents)) unlinkSync(join(SCHEMA_DIR, file))
  }
  for (const [file, text] of Object.entries(documents)) {
    writeFileSync(join(SCHEMA_DIR, file), text)
    console.log(`wrote docs/schemas/${file}`)
  }
}

if (require.main === module) main()
