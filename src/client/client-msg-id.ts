import { v7 } from 'uuid'

/**
 * A new `clientMsgId`: a UUIDv7. Its 74 random bits keep two tabs, devices or messages in the
 * same millisecond apart, and its time prefix sorts keys by creation (docs/protocol.md, send).
 */
export function createClientMsgId(): string {
  return v7()
}
