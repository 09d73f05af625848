import type { ConversationEvent } from '../../domain/conversation/events'
import { pushFrameOf } from '../../domain/protocol/push-frames'
import type { PushFrame } from '../../domain/protocol/frames'
import { conversationStream } from '../../domain/shared/streams'
import type { EventStore } from '../../infra/eventstore/port'

/** How many push frames are kept for re-pushes before the oldest is dropped. */
export const DEFAULT_FRAME_CACHE_SIZE = 50_000

/**
 * The frames of recent messages, so a re-push sends exactly what the first push sent without a
 * read. A miss (after a restart, or for an old message) reads the conversation's stream once.
 */
export class FrameCache {
  private readonly frames = new Map<string, PushFrame>()

  constructor(
    private readonly events: EventStore,
    private readonly capacity = DEFAULT_FRAME_CACHE_SIZE,
  ) {}

  remember(event: ConversationEvent): void {
    const frame = pushFrameOf(event)
    if (frame) this.put(frame)
  }

  async get(conversationId: string, messageId: string): Promise<PushFrame | undefined> {
    const cached = this.frames.get(messageId)
    if (cached) return cached

    const recorded = await this.events.readStream(conversationStream(conversationId))
    for (const r of recorded) this.remember({ type: r.type, data: r.data } as ConversationEvent)
    return this.frames.get(messageId)
  }

  private put(frame: PushFrame): void {
    this.frames.set(frame.messageId, frame)
    if (this.frames.size > this.capacity) {
      const oldest = this.frames.keys().next().value
      if (oldest !== undefined) this.frames.delete(oldest)
    }
  }
}
