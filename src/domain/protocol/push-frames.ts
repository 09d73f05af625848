import type { ConversationEvent, MessageSent, SystemNoticeEvent } from '../conversation/events'
import { isSystemNotice, noticeName } from '../conversation/events'
import type { MessageFrame, PushFrame, SystemFrame } from './frames'

/** The frame a recipient gets for a stored message; a re-push builds the very same frame. */
export function messageFrame(event: MessageSent): MessageFrame {
  const { messageId, conversationId, seq, from, content, sentAt } = event.data
  return { type: 'message', messageId, conversationId, seq, from, content, sentAt }
}

export function systemFrame(event: SystemNoticeEvent): SystemFrame {
  const { messageId, conversationId, seq, at } = event.data
  const frame: SystemFrame = {
    type: 'system',
    messageId,
    conversationId,
    seq,
    event: noticeName(event),
    sentAt: at,
  }
  if (event.type === 'ConversationQueued') frame.position = event.data.position
  if (event.type === 'ConversationAssigned') frame.agentId = event.data.agentId
  if (event.type === 'ConversationRequeued') frame.previousAgentId = event.data.previousAgentId
  if (event.type === 'ConversationClosed') frame.reason = event.data.reason
  return frame
}

/** The push frame for an event that carries a message or notice, or null for other events. */
export function pushFrameOf(event: ConversationEvent): PushFrame | null {
  if (event.type === 'MessageSent') return messageFrame(event)
  if (isSystemNotice(event)) return systemFrame(event)
  return null
}
