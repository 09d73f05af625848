import type { MessageFrame, SentFrame, SystemFrame } from '../domain/protocol/frames'
import type { HistoryEntry } from './http-api'
import type { ChatItem, Content, Participant } from './types'

const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0
const isSeq = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 1

const same = (a: Participant | undefined, b: { role: string; id: string } | undefined): boolean =>
  a !== undefined && b !== undefined && a.role === b.role && a.id === b.id

/** Optional notice fields, copied only when present. */
function noticeFields(source: Partial<SystemFrame>): Partial<ChatItem> {
  const out: Partial<ChatItem> = {}
  if (source.agentId !== undefined) out.agentId = source.agentId
  if (source.previousAgentId !== undefined) out.previousAgentId = source.previousAgentId
  if (source.position !== undefined) out.position = source.position
  if (source.reason !== undefined) out.reason = source.reason
  return out
}

/** A pushed `message` or `system` frame as an item; undefined when it lacks its ids or seq. */
export function itemFromPush(
  frame: MessageFrame | SystemFrame,
  self: Participant | undefined,
): ChatItem | undefined {
  if (!isId(frame.messageId) || !isId(frame.conversationId) || !isSeq(frame.seq)) return undefined
  const base = {
    messageId: frame.messageId,
    conversationId: frame.conversationId,
    seq: frame.seq,
    sentAt: frame.sentAt,
  }
  if (frame.type === 'system') {
    return { kind: 'system', ...base, event: frame.event, ...noticeFields(frame), own: false }
  }
  return {
    kind: 'message',
    ...base,
    from: frame.from,
    content: frame.content,
    own: same(self, frame.from),
  }
}

/** A history entry as an item: a notice when it has `event`, a message otherwise. */
export function itemFromHistory(
  conversationId: string,
  entry: HistoryEntry,
  self: Participant | undefined,
): ChatItem | undefined {
  if (!isId(entry.messageId) || !isSeq(entry.seq)) return undefined
  const base = { messageId: entry.messageId, conversationId, seq: entry.seq, sentAt: entry.sentAt }
  if (entry.event !== undefined) {
    const event = entry.event as ChatItem['event']
    return {
      kind: 'system',
      ...base,
      event,
      ...noticeFields(entry as Partial<SystemFrame>),
      own: false,
    }
  }
  const from = entry.from as Participant
  return { kind: 'message', ...base, from, content: entry.content, own: same(self, from) }
}

/** A confirmed own send as an item at its seq. */
export function itemFromSent(
  frame: SentFrame,
  content: Content,
  self: Participant | undefined,
): ChatItem {
  return {
    kind: 'message',
    messageId: frame.messageId,
    conversationId: frame.conversationId,
    seq: frame.seq,
    sentAt: frame.sentAt,
    ...(self && { from: self }),
    content,
    own: true,
  }
}
