import type { ChatItem } from '../client'

/** Who reads a notice: the customer is told about the agent, the agent about the customer. */
export type Viewer = 'user' | 'agent'

const CLOSE_REASONS: Record<string, string> = {
  agent_closed: 'closed by the agent',
  admin_closed: 'closed by an administrator',
  user_left: 'closed because the customer left',
}

/**
 * The sentence a system notice shows. Unknown events and reasons get a generic line: the
 * protocol lets new ones appear, and they must still show (and be acknowledged).
 */
export function noticeText(item: ChatItem, viewer: Viewer): string {
  switch (item.event) {
    case 'queued':
      return item.position !== undefined
        ? `Waiting for an agent: number ${item.position} in the queue`
        : 'Waiting for an agent'
    case 'assigned':
      return viewer === 'user'
        ? `Agent ${item.agentId ?? ''} joined the conversation`.replace('  ', ' ')
        : 'Conversation assigned to you'
    case 'agent_left':
      return 'The agent left; back at the head of the queue'
    case 'closed': {
      const reason = item.reason ? (CLOSE_REASONS[item.reason] ?? item.reason) : undefined
      return reason ? `Conversation closed: ${reason}` : 'Conversation closed'
    }
    default:
      return `Notice: ${item.event ?? 'unknown'}`
  }
}
