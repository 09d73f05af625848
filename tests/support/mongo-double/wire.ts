import { BSON, Long, type Document } from 'bson'

/**
 * Framing of the two request kinds the driver sends: OP_QUERY (only for the handshake, before
 * the driver knows the server speaks OP_MSG) and OP_MSG (everything else). Replies go out as
 * OP_REPLY and OP_MSG respectively. No compression is advertised, so OP_COMPRESSED never comes.
 */
export const OpCode = { Reply: 1, Query: 2004, Msg: 2013 } as const

const HEADER_BYTES = 16
const CHECKSUM_PRESENT = 1
/** OP_MSG flag: the sender expects no reply (unacknowledged writes, `w: 0`). */
export const MORE_TO_COME = 2

export interface Request {
  requestId: number
  opCode: number
  /** The command: OP_MSG's body with its document sequences merged in, or OP_QUERY's query. */
  command: Document
  moreToCome: boolean
}

// `promoteLongs` keeps small int64s (txnNumber, cursor ids) as numbers; the driver always sends
// ids and numbers that fit.
const DESERIALIZE = { promoteLongs: true, promoteValues: true } as const

/** Pulls complete messages off the front of `buffer`; returns them and the bytes left over. */
export function readMessages(buffer: Buffer): { requests: Request[]; rest: Buffer } {
  const requests: Request[] = []
  let offset = 0
  while (buffer.length - offset >= HEADER_BYTES) {
    const length = buffer.readInt32LE(offset)
    if (length < HEADER_BYTES) throw new Error(`invalid message length ${length}`)
    if (buffer.length - offset < length) break
    requests.push(parse(buffer.subarray(offset, offset + length)))
    offset += length
  }
  return { requests, rest: buffer.subarray(offset) }
}

function parse(message: Buffer): Request {
  const requestId = message.readInt32LE(4)
  const opCode = message.readInt32LE(12)
  if (opCode === OpCode.Query)
    return { requestId, opCode, command: parseQuery(message), moreToCome: false }
  if (opCode !== OpCode.Msg) throw new Error(`unsupported opCode ${opCode}`)

  const flags = message.readUInt32LE(HEADER_BYTES)
  const end = message.length - (flags & CHECKSUM_PRESENT ? 4 : 0)
  let offset = HEADER_BYTES + 4
  let command: Document = {}
  while (offset < end) {
    const kind = message[offset++]
    if (kind === 0) {
      const size = message.readInt32LE(offset)
      command = {
        ...BSON.deserialize(message.subarray(offset, offset + size), DESERIALIZE),
        ...command,
      }
      offset += size
      continue
    }
    // Kind 1, a document sequence: the size, a field name, then documents up to the size.
    const size = message.readInt32LE(offset)
    const sectionEnd = offset + size
    const nameEnd = message.indexOf(0, offset + 4)
    const field = message.toString('utf8', offset + 4, nameEnd)
    const docs: Document[] = []
    for (let at = nameEnd + 1; at < sectionEnd;) {
      const docSize = message.readInt32LE(at)
      docs.push(BSON.deserialize(message.subarray(at, at + docSize), DESERIALIZE))
      at += docSize
    }
    command[field] = docs
    offset = sectionEnd
  }
  return { requestId, opCode, command, moreToCome: (flags & MORE_TO_COME) !== 0 }
}

// OP_QUERY: flags, a full collection name (cstring), skip, limit, then the query document.
function parseQuery(message: Buffer): Document {
  const nameEnd = message.indexOf(0, HEADER_BYTES + 4)
  const at = nameEnd + 1 + 8
  const size = message.readInt32LE(at)
  const query = BSON.deserialize(message.subarray(at, at + size), DESERIALIZE)
  // A legacy handshake may wrap the command as `{ $query: {...} }`.
  return (query.$query as Document | undefined) ?? query
}

function header(length: number, responseTo: number, opCode: number, requestId: number): Buffer {
  const head = Buffer.alloc(HEADER_BYTES)
  head.writeInt32LE(length, 0)
  head.writeInt32LE(requestId, 4)
  head.writeInt32LE(responseTo, 8)
  head.writeInt32LE(opCode, 12)
  return head
}

let nextRequestId = 1

/** A reply to `request` in the form its opCode calls for. */
export function encodeReply(request: Request, reply: Document): Buffer {
  const body = Buffer.from(BSON.serialize(reply, { ignoreUndefined: true }))
  const requestId = nextRequestId++
  if (request.opCode === OpCode.Query) {
    // responseFlags, cursorID (int64), startingFrom, numberReturned.
    const fields = Buffer.alloc(20)
    fields.writeBigInt64LE(0n, 4)
    fields.writeInt32LE(1, 16)
    const length = HEADER_BYTES + fields.length + body.length
    return Buffer.concat([header(length, request.requestId, OpCode.Reply, requestId), fields, body])
  }
  const flagsAndKind = Buffer.from([0, 0, 0, 0, 0])
  const length = HEADER_BYTES + flagsAndKind.length + body.length
  return Buffer.concat([
    header(length, request.requestId, OpCode.Msg, requestId),
    flagsAndKind,
    body,
  ])
}

/** A cursor id as the driver expects it on the wire: always an int64. */
export const cursorId = (id: number): Long => Long.fromNumber(id)
