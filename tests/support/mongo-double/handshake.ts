import { ObjectId, type Document } from 'bson'

/** Who answers `hello`: the address the client reached and its connection's number. */
export interface Peer {
  address: string
  connectionId: number
}

export const MAX_BSON = 16 * 1024 * 1024
const ELECTION_ID = new ObjectId('7fffffff0000000000000001')

/**
 * The `hello` (and legacy `isMaster`) reply: the primary of a single-node replica set, which is
 * what makes the driver allow sessions and transactions. No `topologyVersion`, so the driver's
 * monitor polls instead of streaming (awaitable hello would need exhaust replies).
 */
export const hello = (_cmd: Document, ctx: Peer): Document => ({
  helloOk: true,
  isWritablePrimary: true,
  ismaster: true,
  secondary: false,
  setName: 'rs0',
  setVersion: 1,
  electionId: ELECTION_ID,
  hosts: [ctx.address],
  primary: ctx.address,
  me: ctx.address,
  maxBsonObjectSize: MAX_BSON,
  maxMessageSizeBytes: 48_000_000,
  maxWriteBatchSize: 100_000,
  localTime: new Date(),
  logicalSessionTimeoutMinutes: 30,
  connectionId: ctx.connectionId,
  minWireVersion: 0,
  maxWireVersion: 21,
  readOnly: false,
  ok: 1,
})
