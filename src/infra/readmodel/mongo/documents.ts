import type { Document } from 'mongodb'
import type { Doc } from '../port'

/**
 * How documents and positions are stored. Log positions are bigints (a u64 on EventStoreDB),
 * and the runner stamps `_pos` as a decimal string, which MongoDB would compare as text ("9" >
 * "10"). Stored, they are zero-padded to 20 digits (the width of 2^64 - 1): strings of one
 * length compare as numbers do, in the server, in mingo and in an index, with no precision
 * limit, and they read as the number they are in a shell. (Long is signed 64-bit and would cut
 * the u64 range in half; Decimal128 compares exactly but mingo, hence the double, cannot.)
 * Reads give `_pos` back unpadded, as the runner wrote it.
 */
export const POSITION_DIGITS = 20

const DECIMAL = /^\d+$/
const PADDED = new RegExp(`^\\d{${POSITION_DIGITS}}$`)

/** The stamp field the runner writes (src/projections/batch.ts's POSITION_FIELD). */
export const STAMP = '_pos'

/** A position as stored: 20 digits, zero-padded. */
export function padPosition(position: bigint | string): string {
  const digits = position.toString()
  if (!DECIMAL.test(digits) || digits.length > POSITION_DIGITS) {
    throw new Error(`invalid log position: ${digits}`)
  }
  return digits.padStart(POSITION_DIGITS, '0')
}

export const unpadPosition = (stored: string): bigint => BigInt(stored)

/** The stamp of a document, or undefined if the runner did not stamp it. */
export function stampOf(doc: Doc): bigint | undefined {
  const stamp = doc[STAMP]
  return typeof stamp === 'string' && DECIMAL.test(stamp) ? BigInt(stamp) : undefined
}

/** The stored form: `_id` is the key, `_pos` padded, every other field as it is. */
export function toStored(key: string, doc: Doc): Document {
  if ('_id' in doc) throw new Error(`invalid read-model document ${key}: _id is the store's`)
  const stamp = stampOf(doc)
  return stamp === undefined
    ? { _id: key, ...doc }
    : { _id: key, ...doc, [STAMP]: padPosition(stamp) }
}

/** The port's form of a stored document: without `_id`, `_pos` unpadded. */
export function fromStored(stored: Document): Doc {
  const { _id: _key, ...doc } = stored
  const stamp = doc[STAMP]
  if (typeof stamp === 'string' && PADDED.test(stamp)) doc[STAMP] = BigInt(stamp).toString()
  return doc
}
