import { join } from 'node:path'
import { maskCredentials, type Config } from './config/config'
import { EVENTS_FILE, READ_MODELS_FILE } from './data-files'
import { createEsdbEventStore } from './eventstore/esdb/esdb-event-store'
import type { EventStore } from './eventstore/port'
import { createSqliteEventStore } from './eventstore/sqlite'
import { silentLogger, type Logger } from './logging/logger'
import { createMongoReadModelStore } from './readmodel/mongo/store'
import type { ReadModelStore } from './readmodel/port'
import { createSqliteReadModelStore } from './readmodel/sqlite'

/**
 * The one place that turns configuration into stores. The embedded SQLite files in the data
 * directory are the default; `PARLEY_EVENTSTORE_URL` moves the events to EventStoreDB and
 * `PARLEY_MONGODB_URL` the read models to MongoDB, each independently of the other. The server
 * and the CLI tools both open their stores here, so they can never disagree on where data is.
 */

/** True when any store is the embedded one, so the data directory must be locked. */
export function usesDataDir(config: Config): boolean {
  return !config.eventStoreUrl || !config.mongodbUrl
}

/** Where the events live, as a log line or an error message may say it (no credentials). */
export function describeStores(config: Config): { events: string; readModels: string } {
  return {
    events: config.eventStoreUrl
      ? maskCredentials(config.eventStoreUrl)
      : join(config.dataDir, EVENTS_FILE),
    readModels: config.mongodbUrl
      ? `${maskCredentials(config.mongodbUrl)} (database ${config.mongodbDb})`
      : join(config.dataDir, READ_MODELS_FILE),
  }
}

/** Opens the configured event store; the embedded one with `sqlite` options when given. */
export function openEventStore(
  config: Pick<Config, 'eventStoreUrl' | 'dataDir'>,
  options: { logger?: Logger; sqlite?: { pageSize?: number } } = {},
): EventStore {
  const logger = options.logger ?? silentLogger
  if (config.eventStoreUrl) {
    return createEsdbEventStore({ connectionString: config.eventStoreUrl, logger })
  }
  return createSqliteEventStore({
    path: join(config.dataDir, EVENTS_FILE),
    logger,
    ...options.sqlite,
  })
}

/** Opens the configured read-model store. */
export function openReadModelStore(config: Config, logger: Logger = silentLogger): ReadModelStore {
  if (config.mongodbUrl) {
    return createMongoReadModelStore({ url: config.mongodbUrl, dbName: config.mongodbDb, logger })
  }
  return createSqliteReadModelStore({ path: join(config.dataDir, READ_MODELS_FILE) })
}
