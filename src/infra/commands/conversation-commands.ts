import type { Content } from '../../domain/content/schema'
import type { PushReason } from '../../domain/conversation/commands'
import { conversationDecider } from '../../domain/conversation/decider'
import type {
  ConversationEvent,
  CloseReason,
  MessagePushed,
  MessageSent,
} from '../../domain/conversation/events'
import { clientKey, type ConversationState } from '../../domain/conversation/state'
import { customerDecider } from '../../domain/customer/customer'
import type { DeliveryPolicy } from '../../domain/delivery/backoff'
import { DomainError, ErrorCode } from '../../domain/shared/errors'
import type { Participant } from '../../domain/shared/participant'
import { Role } from '../../domain/shared/participant'
import { conversationStream, customerStream } from '../../domain/shared/streams'
import type { EventStore } from '../eventstore/port'
import { CommandHandler } from './command-handler'

/** Where ids and time come from; injected so tests control both. */
export interface IdSource {
  next(): string
}
export interface Clock {
  now(): number
}

export interface SendResult {
  conversationId: string
  messageId: string
  seq: number
  sentAt: number
  /** True when this was a retry of a send already stored. */
  duplicate: boolean
  /** The stored event, when this call stored it. */
  event: MessageSent | null
}

/**
 * The conversation's use cases, each a command through the CommandHandler: what the gateway and
 * the process managers call. Everything returned has been durably appended.
 */
export class ConversationCommands {
  readonly conversations: CommandHandler<
    Parameters<typeof conversationDecider.decide>[0],
    ConversationEvent,
    ConversationState
  >
  private readonly customers

  constructor(
    events: EventStore,
    private readonly ids: IdSource,
    private readonly clock: Clock,
    private readonly policy: DeliveryPolicy,
  ) {
    this.conversations = new CommandHandler(events, conversationDecider)
    this.customers = new CommandHandler(events, customerDecider)
  }

  /** The user's current conversation, opening a new one if there is none or it has closed. */
  async currentConversationOf(
    userId: string,
  ): Promise<{ conversationId: string; opened: boolean }> {
    const now = this.clock.now()
    const candidateId = this.ids.next()
    const result = await this.customers.handle(customerStream(userId), {
      type: 'StartConversation',
      userId,
      conversationId: candidateId,
      currentClosed: false,
      now,
    })
    let conversationId = result.state.currentConversationId as string

    const current = await this.conversations.read(conversationStream(conversationId))
    if (current.status === 'closed') {
      const restarted = await this.customers.handle(customerStream(userId), {
        type: 'StartConversation',
        userId,
        conversationId: candidateId,
        currentClosed: true,
        now,
      })
      conversationId = restarted.state.currentConversationId as string
    }

    // Opening is idempotent, so a crash between the two appends heals on the next send.
    const open = await this.conversations.handle(conversationStream(conversationId), {
      type: 'OpenConversation',
      conversationId,
      userId,
      now,
    })
    return { conversationId, opened: open.events.length > 0 }
  }

  async send(
    from: Participant,
    input: { clientMsgId: string; conversationId?: string; content: Content },
  ): Promise<SendResult> {
    let conversationId = input.conversationId
    if (conversationId === undefined) {
      if (from.role !== Role.User) {
        throw new DomainError(ErrorCode.BadFrame, 'conversationId is required for agents')
      }
      conversationId = (await this.currentConversationOf(from.id)).conversationId
    }

    const result = await this.conversations.handle(conversationStream(conversationId), {
      type: 'SendMessage',
      from,
      clientMsgId: input.clientMsgId,
      content: input.content,
      messageId: this.ids.next(),
      now: this.clock.now(),
    })
    const stored = result.state.sent.get(clientKey(from, input.clientMsgId))
    if (!stored) throw new Error('send decided no event and found no earlier message')

    const event = (result.events[0] as MessageSent | undefined) ?? null
    const { messageId, seq, sentAt } = stored
    return { conversationId, messageId, seq, sentAt, duplicate: event === null, event }
  }

  acknowledge(by: Participant, conversationId: string, messageIds: string[]) {
    return this.conversations.handle(conversationStream(conversationId), {
      type: 'AcknowledgeMessages',
      by,
      messageIds,
      now: this.clock.now(),
    })
  }

  /** Records one push; returns the event, or null when the push is not (or no longer) due. */
  async recordPush(
    conversationId: string,
    messageId: string,
    recipient: Participant,
    reason: PushReason,
  ): Promise<MessagePushed | null> {
    const result = await this.conversations.handle(conversationStream(conversationId), {
      type: 'RecordPush',
      messageId,
      recipient,
      reason,
      policy: this.policy,
      now: this.clock.now(),
    })
    return (result.events[0] as MessagePushed | undefined) ?? null
  }

  async abandonPush(conversationId: string, messageId: string, recipient: Participant) {
    const result = await this.conversations.handle(conversationStream(conversationId), {
      type: 'AbandonPush',
      messageId,
      recipient,
      policy: this.policy,
      now: this.clock.now(),
    })
    return result.events.length > 0
  }

  queue(conversationId: string, position: number) {
    return this.conversations.handle(conversationStream(conversationId), {
      type: 'QueueConversation',
      position,
      messageId: this.ids.next(),
      now: this.clock.now(),
    })
  }

  assign(conversationId: string, agentId: string) {
    return this.conversations.handle(conversationStream(conversationId), {
      type: 'AssignAgent',
      agentId,
      messageId: this.ids.next(),
      now: this.clock.now(),
    })
  }

  /** The agent left: back to the head of the queue, if the conversation is still theirs. */
  requeue(conversationId: string, agentId: string) {
    return this.conversations.handle(conversationStream(conversationId), {
      type: 'RequeueConversation',
      agentId,
      messageId: this.ids.next(),
      now: this.clock.now(),
    })
  }

  /** The user's current conversation if it is still open or queued; opens none. */
  async activeConversationOf(userId: string): Promise<string | null> {
    const customer = await this.customers.read(customerStream(userId))
    const id = customer.currentConversationId
    if (id === null) return null
    const state = await this.read(id)
    return state.status === 'closed' || state.status === 'none' ? null : id
  }

  close(by: Participant | null, conversationId: string, reason: CloseReason) {
    return this.conversations.handle(conversationStream(conversationId), {
      type: 'CloseConversation',
      by,
      reason,
      messageId: this.ids.next(),
      now: this.clock.now(),
    })
  }

  read(conversationId: string): Promise<ConversationState> {
    return this.conversations.read(conversationStream(conversationId))
  }
}
