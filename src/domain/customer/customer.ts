import type { Decider } from '../shared/decider'

/**
 * The customer (stream `customer-<userId>`) points at the user's current conversation, so a user
 * who sends without naming a conversation always lands in one, even when two tabs send their
 * first message at the same instant: the second append loses the revision race and re-reads.
 */
export type CustomerEvent = {
  type: 'CustomerConversationStarted'
  data: { userId: string; conversationId: string; at: number }
}

export type CustomerCommand = {
  type: 'StartConversation'
  userId: string
  conversationId: string
  /** Whether the current conversation (if any) has closed; the handler reads it. */
  currentClosed: boolean
  now: number
}

export interface CustomerState {
  currentConversationId: string | null
}

export const customerDecider: Decider<CustomerCommand, CustomerEvent, CustomerState> = {
  initialState: () => ({ currentConversationId: null }),

  decide(c, s) {
    if (s.currentConversationId !== null && !c.currentClosed) return []
    const data = { userId: c.userId, conversationId: c.conversationId, at: c.now }
    return [{ type: 'CustomerConversationStarted', data }]
  },

  // Only the one known event moves the pointer; an unknown newer type changes nothing.
  evolve: (s, e) =>
    e.type === 'CustomerConversationStarted' ? { currentConversationId: e.data.conversationId } : s,
}
