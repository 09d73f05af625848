import type { ComponentChildren } from 'preact'
import { useEffect, useRef } from 'preact/hooks'
import type { ChatItem, OutgoingMessage } from '../client'
import { ContentView } from './content-view'
import { clock } from './format'
import { noticeText, type Viewer } from './notices'

function ItemView({ item, viewer }: { item: ChatItem; viewer: Viewer }) {
  if (item.kind === 'system') {
    return (
      <li
        class="item notice"
        data-message-id={item.messageId}
        data-event={item.event}
        data-seq={item.seq}
      >
        <span>{noticeText(item, viewer)}</span>
        <time>{clock(item.sentAt)}</time>
      </li>
    )
  }
  const side = item.own ? 'own' : 'theirs'
  return (
    <li
      class={`item message ${side}`}
      data-message-id={item.messageId}
      data-format={item.content?.format}
      data-seq={item.seq}
    >
      <div class="bubble">
        {!item.own && item.from && <span class="from">{item.from.id}</span>}
        <ContentView content={item.content} />
        <time>{clock(item.sentAt)}</time>
      </div>
    </li>
  )
}

/** An own send not confirmed yet: "sending" while pending, the error and Retry once failed. */
function OutgoingView({
  message,
  onRetry,
  onDiscard,
}: OutgoingProps & { message: OutgoingMessage }) {
  return (
    <li
      class={`item message own ${message.state}`}
      data-client-msg-id={message.clientMsgId}
      data-state={message.state}
      data-format={message.content.format}
    >
      <div class="bubble">
        <ContentView content={message.content} />
        {message.state === 'failed' ? (
          <div class="failure">
            <span class="error">
              Not sent{message.error ? `: ${message.error.code} (${message.error.message})` : ''}
            </span>
            <button type="button" class="retry" onClick={() => onRetry(message.clientMsgId)}>
              Retry
            </button>
            <button type="button" class="discard" onClick={() => onDiscard(message.clientMsgId)}>
              Discard
            </button>
          </div>
        ) : (
          <span class="sending">Sending…</span>
        )}
      </div>
    </li>
  )
}

interface OutgoingProps {
  onRetry(clientMsgId: string): void
  onDiscard(clientMsgId: string): void
}

/** A conversation's timeline, own unconfirmed sends at the end; follows the newest entry. */
export function MessageList(
  props: OutgoingProps & {
    items: readonly ChatItem[]
    outgoing: readonly OutgoingMessage[]
    viewer: Viewer
    header?: ComponentChildren
  },
) {
  const end = useRef<HTMLLIElement>(null)
  // A new entry, or a send turning failed (its error line and Retry), scrolls to the end.
  const shape = `${props.items.length}:${props.outgoing.map((m) => m.state).join()}`
  useEffect(() => end.current?.scrollIntoView({ block: 'end' }), [shape])

  return (
    <ol class="timeline">
      {props.header}
      {props.items.map((item) => (
        <ItemView key={item.messageId} item={item} viewer={props.viewer} />
      ))}
      {props.outgoing.map((message) => (
        <OutgoingView
          key={message.clientMsgId}
          message={message}
          onRetry={props.onRetry}
          onDiscard={props.onDiscard}
        />
      ))}
      <li class="end" ref={end} aria-hidden="true" />
    </ol>
  )
}
