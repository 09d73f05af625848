import type { EventStoreDBClient } from '@eventstore/db-client'
import type { Logger } from '../../logging/logger'

/** What the parts of the adapter share: the client, the logger and the closing. */
export interface EsdbSession {
  client: EventStoreDBClient
  log: Logger
  isClosed(): boolean
  /** Registers what `close()` must stop (a subscription, a read); returns its deregistration. */
  onClose(stop: () => void): () => void
}
