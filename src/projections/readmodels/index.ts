import type { Projection } from '../projection'
import { agentsProjection } from './agents'
import { conversationsProjection } from './conversations'
import { messagesProjection } from './messages'
import { pendingAcksProjection } from './pending-acks'

export * from './agents'
export * from './conversations'
export * from './messages'
export * from './pending-acks'

/** Every read model the server keeps; each runs on its own checkpoint. */
export const allProjections: readonly Projection[] = [
  messagesProjection,
  conversationsProjection,
  agentsProjection,
  pendingAcksProjection,
]
