import type { Clock } from '../infra/commands/conversation-commands'
import type { ConversationCommands } from '../infra/commands/conversation-commands'
import type { DeskCommands } from '../infra/commands/desk-commands'
import type { PresenceCommands } from '../infra/commands/presence-commands'
import type { TokenVerifier } from '../infra/auth/tokens'
import type { RateLimit } from '../infra/config/config'
import type { Logger } from '../infra/logging/logger'
import type { ReadModelStore } from '../infra/readmodel/port'
import type { DeliveryManager } from '../projections/delivery/delivery-manager'
import type { Dispatcher } from '../projections/dispatch/dispatcher'
import type { ConnectionRegistry } from './connections/registry'

/** Everything the gateway needs, built by the composition root (src/server.ts). */
export interface GatewayServices {
  config: { rateLimit: RateLimit; maxFrameBytes: number; agentSeats: number }
  tokens: TokenVerifier
  conversations: ConversationCommands
  desks: DeskCommands
  presence: PresenceCommands
  delivery: DeliveryManager
  dispatcher: Dispatcher
  registry: ConnectionRegistry
  readModels: ReadModelStore
  /** Resolves once the read models have applied everything committed so far (bounded wait). */
  readModelsCaughtUp(): Promise<void>
  clock: Clock
  logger: Logger
}
