import type { ChatItem } from '../client'
import type { Desk } from './desk'
import { clock } from './format'
import { noticeText } from './notices'
import type { Timeline } from './timeline'

/** A one-line preview of a conversation's latest entry. */
function preview(item: ChatItem | undefined): string {
  if (!item) return 'no messages yet'
  if (item.kind === 'system') return noticeText(item, 'agent')
  const content = item.content
  const prefix = item.own ? 'You: ' : ''
  if (content?.format === 'text') return prefix + content.text
  return prefix + `[${content?.format.replace('_', ' ') ?? 'message'}]`
}

function ConversationEntry(props: {
  id: string
  label: string
  timeline: Timeline
  selected: boolean
  unread: number
  closed: boolean
  onSelect(id: string): void
}) {
  const items = props.timeline.items(props.id)
  const last = items[items.length - 1]
  return (
    <li>
      <button
        type="button"
        class={`conversation${props.selected ? ' selected' : ''}${props.closed ? ' closed' : ''}`}
        data-conversation-id={props.id}
        aria-current={props.selected ? 'true' : undefined}
        onClick={() => props.onSelect(props.id)}
      >
        <span class="conversation-user">{props.label}</span>
        {props.unread > 0 && (
          <span class="unread" data-unread={props.unread}>
            {props.unread}
          </span>
        )}
        <span class="conversation-preview">{preview(last)}</span>
      </button>
    </li>
  )
}

/** The agent's open and closed conversations, and the queue. */
export function AgentSidebar(props: {
  desk: Desk
  timeline: Timeline
  openIds: string[]
  closedIds: string[]
  selected: string | null
  unread(id: string): number
  onSelect(id: string): void
}) {
  const { desk } = props
  const userOf = (id: string) =>
    desk.open.find((c) => c.conversationId === id)?.userId ??
    props.timeline.items(id).find((i) => !i.own && i.from)?.from?.id ??
    id
  const entry = (id: string, closed: boolean) => (
    <ConversationEntry
      key={id}
      id={id}
      label={userOf(id)}
      timeline={props.timeline}
      selected={id === props.selected}
      unread={props.unread(id)}
      closed={closed}
      onSelect={props.onSelect}
    />
  )

  return (
    <aside class="sidebar">
      <h2>Open ({props.openIds.length})</h2>
      <ul class="conversations open-conversations">
        {props.openIds.map((id) => entry(id, false))}
      </ul>
      {props.closedIds.length > 0 && (
        <>
          <h2>Closed</h2>
          <ul class="conversations closed-conversations">
            {props.closedIds.map((id) => entry(id, true))}
          </ul>
        </>
      )}
      <h2>
        Queue
        {desk.queue ? ` (${desk.queue.length}${desk.queueMore ? '+' : ''} waiting)` : ''}
      </h2>
      {desk.queue === null ? (
        <p class="hint">The queue could not be read.</p>
      ) : desk.queue.length === 0 ? (
        <p class="hint">Nobody is waiting.</p>
      ) : (
        <ol class="queue">
          {desk.queue.map((c) => (
            <li
              key={c.conversationId}
              data-conversation-id={c.conversationId}
              data-position={c.position}
              data-requeued={c.requeued ? 'true' : undefined}
            >
              <span class="queue-position">{c.position}.</span>
              <span class="queue-user" title={c.userId}>
                {c.userId}
              </span>
              {c.requeued && <span class="requeued">agent left</span>}
              <time>since {clock(c.waitingSince)}</time>
            </li>
          ))}
        </ol>
      )}
      {desk.problem && <p class="problem">{desk.problem}</p>}
    </aside>
  )
}
