import type { FastifyInstance } from 'fastify'
import { asyncScheduler, type SchedulerLike } from 'rxjs'
import { ConnectionRegistry } from './gateway/connections/registry'
import { buildApp } from './gateway/app'
import type { GatewayServices } from './gateway/services'
import { resolveAuthSecret } from './infra/auth/secret'
import { openEventStore, openReadModelStore, usesDataDir } from './infra/backends'
import { ConfigError, type Config } from './infra/config/config'
import { createTokenVerifier } from './infra/auth/tokens'
import { ConversationCommands, type Clock } from './infra/commands/conversation-commands'
import { DeskCommands } from './infra/commands/desk-commands'
import { PresenceCommands } from './infra/commands/presence-commands'
import type { EventStore } from './infra/eventstore/port'
import { lockDataDir, type DataDirLock } from './infra/lock/data-dir-lock'
import { createSnowflake } from './infra/ids/snowflake'
import { silentLogger, type Logger } from './infra/logging/logger'
import type { ReadModelStore } from './infra/readmodel/port'
import { DeliveryManager } from './projections/delivery/delivery-manager'
import { Dispatcher } from './projections/dispatch/dispatcher'
import { presenceAvailability } from './projections/presence/agent-availability'
import { PresenceMonitor } from './projections/presence/presence-monitor'
import { startProjection, type ProjectionRunner } from './projections/projection'
import { allProjections } from './projections/readmodels'

export { EVENTS_FILE, READ_MODELS_FILE } from './infra/data-files'
/** Longest an HTTP read waits for the read models to catch up with what is committed. */
export const READ_YOUR_WRITES_TIMEOUT_MS = 2000

export interface ParleyOverrides {
  events?: EventStore
  readModels?: ReadModelStore
  logger?: Logger
  /** Timers of the process managers; a virtual-time scheduler in tests. */
  scheduler?: SchedulerLike
}

export interface Parley {
  app: FastifyInstance
  services: GatewayServices
  /** Stops accepting, closes sockets (1001), stops the process managers and closes the stores. */
  close(): Promise<void>
}

/**
 * The composition root: opens the stores, starts the projections and process managers, and
 * builds the app. It does not listen; src/main.ts does.
 */
export async function createParley(
  config: Config,
  overrides: ParleyOverrides = {},
): Promise<Parley> {
  // Nodes sharing an event store serve the same people: a secret generated into one node's data
  // directory would make the tokens minted for the others fail there.
  if (config.eventStoreUrl && !config.authSecret) {
    throw new ConfigError([
      'PARLEY_AUTH_SECRET: required with PARLEY_EVENTSTORE_URL, so that every node sharing the ' +
        'event store verifies the same tokens',
    ])
  }

  const logger = overrides.logger ?? silentLogger
  // The data directory is locked while any embedded store lives in it: two servers writing one
  // SQLite log would each miss the other's live events.
  const lock = overrides.events || !usesDataDir(config) ? null : lockDataDir(config.dataDir)
  const scheduler = overrides.scheduler ?? asyncScheduler
  const clock: Clock = { now: () => scheduler.now() }

  // 1. Stores: the configured ones (src/infra/backends.ts) unless others are given.
  const events = overrides.events ?? openEventStore(config, { logger })
  const readModels = overrides.readModels ?? openReadModelStore(config, logger)
  try {
    return await startOn(config, { events, readModels, logger, scheduler, clock, lock })
  } catch (err) {
    // A start that fails halfway (a database out of reach, say) must not leave a client
    // reconnecting forever and the process alive without serving: close what was opened.
    await Promise.allSettled([events.close(), readModels.close()])
    lock?.release()
    throw err
  }
}

interface StartDeps {
  events: EventStore
  readModels: ReadModelStore
  logger: Logger
  scheduler: SchedulerLike
  clock: Clock
  lock: DataDirLock | null
}

/** Everything after the stores are open: identity, projections, process managers, the app. */
async function startOn(config: Config, deps: StartDeps): Promise<Parley> {
  const { events, readModels, logger, scheduler, clock, lock } = deps
  await readModels.ensureCollections(allProjections.flatMap((p) => p.collections))

  // 2. Identity: tokens and ids. Ids are seeded past the newest stored event's time, so a clock
  // that stepped back across a restart cannot hand out an id already used.
  const secret = await resolveAuthSecret({
    configured: config.authSecret,
    dataDir: config.dataDir,
    logger,
  })
  const tokens = createTokenVerifier(secret)
  const ids = createSnowflake({
    workerId: config.nodeId,
    now: clock.now,
    minTimestamp: await newestEventTime(events),
  })

  // 3. Commands, read models, process managers.
  const policy = { ackTimeoutMs: config.ackTimeoutMs, maxAttempts: config.ackMaxAttempts }
  const conversations = new ConversationCommands(events, ids, clock, policy)
  const desks = new DeskCommands(events, clock, config.agentSeats)
  const thresholds = { offlineAfterMs: config.offlineAfterMs, leaveAfterMs: config.leaveAfterMs }
  const presence = new PresenceCommands(events, clock, thresholds, config.nodeId)
  const runners: ProjectionRunner[] = allProjections.map((projection) =>
    startProjection({ events, readModels, projection, logger }),
  )
  const waitForReadModels = async (position: bigint): Promise<void> => {
    await Promise.all(runners.map((r) => r.waitForPosition(position)))
  }
  await Promise.all(runners.map((r) => r.ready))

  const registry = new ConnectionRegistry()
  const delivery = new DeliveryManager({
    events,
    readModels,
    commands: conversations,
    channels: registry,
    policy,
    scheduler,
    logger,
  })
  await delivery.start()
  const dispatcher = new Dispatcher({
    events,
    readModels,
    waitForReadModels,
    conversations,
    desks,
    agents: presenceAvailability(readModels),
    defaultSeats: config.agentSeats,
    scheduler,
    logger,
  })
  await dispatcher.start()
  const monitor = new PresenceMonitor({
    events,
    readModels,
    presence,
    conversations,
    desks,
    connections: () => registry.all(),
    thresholds,
    tickMs: config.presenceTickMs,
    scheduler,
    logger,
  })
  await monitor.start()

  // 4. The gateway.
  const services: GatewayServices = {
    config,
    tokens,
    conversations,
    desks,
    presence,
    delivery,
    dispatcher,
    registry,
    readModels,
    readModelsCaughtUp: async () => {
      const head = await events.headPosition()
      await Promise.all(runners.map((r) => r.waitForPosition(head, READ_YOUR_WRITES_TIMEOUT_MS)))
    },
    clock,
    logger,
  }
  const app = await buildApp(services)

  return {
    app,
    services,
    async close() {
      // Process managers first, so no timer spends a push on a socket that is closing.
      await monitor.stop()
      await dispatcher.stop()
      await delivery.stop()
      // Disconnects are recorded before the stores close, so presence is right after a restart.
      await Promise.all(registry.all().map((connection) => connection.shutdown()))
      await app.close()
      logger.debug({}, 'shutdown: gateway closed, stopping projections')
      await Promise.all(runners.map((r) => r.stop()))
      logger.debug({}, 'shutdown: projections stopped, closing the stores')
      await events.close()
      logger.debug({}, 'shutdown: event store closed')
      await readModels.close()
      logger.debug({}, 'shutdown: read models closed')
      lock?.release()
    },
  }
}

async function newestEventTime(events: EventStore): Promise<number | undefined> {
  const head = await events.headPosition()
  if (head === 0n) return undefined
  for await (const event of events.readAll({ after: head - 1n, maxCount: 1 }))
    return event.recordedAt
  return undefined
}
