import { ackWaitAfter } from '../delivery/backoff'
import { DomainError, ErrorCode } from '../shared/errors'
import { Role, sameParticipant, type Participant } from '../shared/participant'
import type {
  AbandonPush,
  AcknowledgeMessages,
  AssignAgent,
  CloseConversation,
  ConversationCommand,
  OpenConversation,
  QueueConversation,
  RecordPush,
  RequeueConversation,
  SendMessage,
} from './commands'
import type { ConversationEvent, MessageAcknowledged } from './events'
import { canonicalJson, clientKey, deliveryOf, recipientsOf, type ConversationState } from './state'

/**
 * The conversation's rules. Pure: the same command and state always give the same events or the
 * same error. An empty result means "nothing to do" (for example a retried send).
 */
export function decide(
  command: ConversationCommand,
  state: ConversationState,
): ConversationEvent[] {
  switch (command.type) {
    case 'OpenConversation':
      return open(command, state)
    case 'QueueConversation':
      return queue(command, state)
    case 'AssignAgent':
      return assign(command, state)
    case 'RequeueConversation':
      return requeue(command, state)
    case 'SendMessage':
      return send(command, state)
    case 'RecordPush':
      return recordPush(command, state)
    case 'AbandonPush':
      return abandon(command, state)
    case 'AcknowledgeMessages':
      return acknowledge(command, state)
    case 'CloseConversation':
      return close(command, state)
  }
}

function open(c: OpenConversation, s: ConversationState): ConversationEvent[] {
  if (s.status !== 'none') {
    if (s.userId === c.userId) return []
    throw new DomainError(ErrorCode.Conflict, 'conversation id already taken')
  }

  const data = { conversationId: c.conversationId, userId: c.userId, openedAt: c.now }
  return [{ type: 'ConversationOpened', data }]
}

function queue(c: QueueConversation, s: ConversationState): ConversationEvent[] {
  mustExist(s)
  if (s.status !== 'new') return []

  const data = {
    conversationId: s.conversationId,
    position: c.position,
    messageId: c.messageId,
    seq: s.lastSeq + 1,
    at: c.now,
  }
  return [{ type: 'ConversationQueued', data }]
}

function assign(c: AssignAgent, s: ConversationState): ConversationEvent[] {
  mustExist(s)
  if (s.status === 'open' && s.agentId === c.agentId) return []
  if (s.status !== 'new' && s.status !== 'queued') {
    throw new DomainError(ErrorCode.Conflict, `conversation is ${s.status}, cannot be assigned`)
  }

  const data = {
    conversationId: s.conversationId,
    agentId: c.agentId,
    messageId: c.messageId,
    seq: s.lastSeq + 1,
    at: c.now,
  }
  return [{ type: 'ConversationAssigned', data }]
}

function requeue(c: RequeueConversation, s: ConversationState): ConversationEvent[] {
  mustExist(s)
  if (s.status !== 'open' || s.agentId !== c.agentId) return []

  const data = {
    conversationId: s.conversationId,
    previousAgentId: c.agentId,
    messageId: c.messageId,
    seq: s.lastSeq + 1,
    at: c.now,
  }
  return [{ type: 'ConversationRequeued', data }]
}

function send(c: SendMessage, s: ConversationState): ConversationEvent[] {
  mustExist(s)
  mustBeParticipant(c.from, s)

  const previous = s.sent.get(clientKey(c.from, c.clientMsgId))
  if (previous) {
    if (previous.contentKey === canonicalJson(c.content)) return []
    throw new DomainError(ErrorCode.Conflict, 'clientMsgId was already used for other content', {
      messageId: previous.messageId,
    })
  }
  if (s.status === 'closed') {
    throw new DomainError(ErrorCode.ConversationClosed, 'conversation is closed')
  }

  const data = {
    conversationId: s.conversationId,
    messageId: c.messageId,
    seq: s.lastSeq + 1,
    clientMsgId: c.clientMsgId,
    from: c.from,
    content: c.content,
    sentAt: c.now,
  }
  return [{ type: 'MessageSent', data }]
}

function recordPush(c: RecordPush, s: ConversationState): ConversationEvent[] {
  const record = s.messages.get(c.messageId)
  if (!record) throw new DomainError(ErrorCode.NotFound, 'no such message in conversation')
  if (!recipientsOf(s, record).some((r) => sameParticipant(r, c.recipient))) return []

  const d = deliveryOf(s, c.messageId, c.recipient)
  if (d.acked || d.abandoned || d.pushes >= c.policy.maxAttempts) return []
  if (c.reason === 'first' && d.pushes > 0) return []
  if (c.reason === 'due' && (d.nextDueAt === null || c.now < d.nextDueAt)) return []

  const attempt = d.pushes + 1
  const data = {
    conversationId: s.conversationId,
    messageId: c.messageId,
    seq: record.seq,
    recipient: c.recipient,
    attempt,
    pushedAt: c.now,
    nextDueAt: c.now + ackWaitAfter(attempt, c.policy.ackTimeoutMs),
  }
  return [{ type: 'MessagePushed', data }]
}

function abandon(c: AbandonPush, s: ConversationState): ConversationEvent[] {
  const d = deliveryOf(s, c.messageId, c.recipient)
  const exhausted = d.pushes >= c.policy.maxAttempts
  const due = d.nextDueAt !== null && c.now >= d.nextDueAt
  if (d.acked || d.abandoned || !exhausted || !due) return []

  const data = {
    conversationId: s.conversationId,
    messageId: c.messageId,
    recipient: c.recipient,
    attempts: d.pushes,
    at: c.now,
  }
  return [{ type: 'PushAbandoned', data }]
}

/**
 * Only a current recipient's acknowledgement counts; anything else (someone else's message, an
 * unknown id, a repeat) is dropped silently, because a client cannot do anything useful about it.
 */
function acknowledge(c: AcknowledgeMessages, s: ConversationState): ConversationEvent[] {
  const events: MessageAcknowledged[] = []
  const seen = new Set<string>()
  for (const messageId of c.messageIds) {
    const record = s.messages.get(messageId)
    if (!record || seen.has(messageId)) continue
    if (!recipientsOf(s, record).some((r) => sameParticipant(r, c.by))) continue
    if (deliveryOf(s, messageId, c.by).acked) continue

    seen.add(messageId)
    const data = { conversationId: s.conversationId, messageId, recipient: c.by, at: c.now }
    events.push({ type: 'MessageAcknowledged', data })
  }
  return events
}

function close(c: CloseConversation, s: ConversationState): ConversationEvent[] {
  mustExist(s)
  if (s.status === 'closed') return []
  if (c.by !== null && c.by.role !== Role.Admin) {
    const isAgent = c.by.role === Role.Agent && c.by.id === s.agentId
    if (!isAgent) throw new DomainError(ErrorCode.Forbidden, 'only the assigned agent may close')
  }

  const data = {
    conversationId: s.conversationId,
    reason: c.reason,
    closedBy: c.by,
    agentId: s.agentId,
    messageId: c.messageId,
    seq: s.lastSeq + 1,
    at: c.now,
  }
  return [{ type: 'ConversationClosed', data }]
}

function mustExist(s: ConversationState): void {
  if (s.status === 'none') throw new DomainError(ErrorCode.NotFound, 'no such conversation')
}

function mustBeParticipant(p: Participant, s: ConversationState): void {
  const isUser = p.role === Role.User && p.id === s.userId
  const isAgent = p.role === Role.Agent && p.id === s.agentId
  if (!isUser && !isAgent) {
    throw new DomainError(ErrorCode.Forbidden, 'not a participant of this conversation')
  }
}
