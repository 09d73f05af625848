import { Role } from '../../domain/shared/participant'
import type { ReadModelStore } from '../../infra/readmodel/port'
import type { AgentAvailability } from '../dispatch/dispatcher'
import { PRESENCE, type PresenceDoc } from '../readmodels/presence'

/** Most online agents considered in one dispatch pass. */
const MAX_ONLINE_AGENTS = 10_000

/**
 * Agents who can take new conversations: online by the presence read model, whichever node
 * holds their socket. An agent whose connections all went silent is offline and gets none.
 */
export function presenceAvailability(readModels: ReadModelStore): AgentAvailability {
  return {
    async onlineAgents() {
      const docs = (await readModels.find({
        collection: PRESENCE,
        where: { role: Role.Agent, status: 'online' },
        limit: MAX_ONLINE_AGENTS,
      })) as unknown as PresenceDoc[]
      return docs.map((d) => d.id)
    },
  }
}
