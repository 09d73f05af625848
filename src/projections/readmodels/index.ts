import type { Projection } from '../projection'
import { agentsProjection } from './agents'
import { conversationsProjection } from './conversations'
import { messagesProjection } from './messages'
import { pendingAcksProjection } from './pending-acks'
import { presenceProjection } from './presence'

export * from './agents'
export * from './conversations'
export * from './messages'
export * from './pending-acks'
export * from './presence'

/** Every read model the server keeps; each runs on its own checkpoint. */
export const allProjections: readonly Projection[] = [
  messagesProjection,
  conversationsProjection,
  agentsProjection,
  pendingAcksProjection,
  presenceProjection,
]
