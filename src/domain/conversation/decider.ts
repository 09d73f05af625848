import type { Decider } from '../shared/decider'
import type { ConversationCommand } from './commands'
import { decide } from './decide'
import type { ConversationEvent } from './events'
import { evolve, initialState, type ConversationState } from './state'

/** The conversation aggregate: stream `conversation-<id>`. */
export const conversationDecider: Decider<
  ConversationCommand,
  ConversationEvent,
  ConversationState
> = { decide, evolve, initialState }
