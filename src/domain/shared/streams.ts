/**
 * Stream names: one stream per aggregate instance, `<category>-<id>`. The category is the text
 * before the first dash, so ids may contain dashes. Analysts filter replays by category.
 */
export const StreamCategory = {
  Conversation: 'conversation',
  Agent: 'agent',
  Customer: 'customer',
  Presence: 'presence',
} as const
export type StreamCategory = (typeof StreamCategory)[keyof typeof StreamCategory]

export const conversationStream = (conversationId: string): string =>
  `${StreamCategory.Conversation}-${conversationId}`
export const agentStream = (agentId: string): string => `${StreamCategory.Agent}-${agentId}`
export const customerStream = (userId: string): string => `${StreamCategory.Customer}-${userId}`

/** The category of a stream name, or the whole name when it has no dash. */
export function categoryOf(streamName: string): string {
  const dash = streamName.indexOf('-')
  return dash === -1 ? streamName : streamName.slice(0, dash)
}

/** The id part of a stream name (everything after the first dash). */
export function idOf(streamName: string): string {
  const dash = streamName.indexOf('-')
  return dash === -1 ? '' : streamName.slice(dash + 1)
}

/** One presence stream per person: `presence-<role>-<id>`. */
export const presenceStream = (p: { role: string; id: string }): string =>
  `${StreamCategory.Presence}-${p.role}-${p.id}`
