import { useEffect, useMemo, useState } from 'preact/hooks'
import type { Content } from '../domain/content/schema'
import { Composer } from './composer'
import { dateTime } from './format'
import { MessageList } from './message-list'
import { StatusBar, useSessionView } from './page-parts'
import { ChatSession } from './session'
import type { TokenClaims } from './token'

/** How many of the customer's latest conversations the page reads back on load. */
export const CUSTOMER_HISTORY_CONVERSATIONS = 20

interface Summary {
  conversationId: string
  status: 'queued' | 'open' | 'closed'
  openedAt: number
}

/**
 * The customer's chat: every conversation they had (the latest few), one after the other, and a
 * composer that writes into the open one, or starts a new one when the last was closed.
 */
export function CustomerPage({ token, claims }: { token: string; claims: TokenClaims }) {
  const session = useMemo(() => new ChatSession(token), [token])
  const view = useSessionView(session)
  const [summaries, setSummaries] = useState<Summary[]>([])
  const [loadError, setLoadError] = useState<string | null>(null)

  useEffect(() => {
    session.start()
    session.client
      .api<{ conversations: Summary[] }>(
        `/v1/conversations?limit=${CUSTOMER_HISTORY_CONVERSATIONS}`,
      )
      .then(({ conversations }) => {
        const oldestFirst = [...conversations].reverse()
        setSummaries(oldestFirst)
        for (const c of oldestFirst) session.follow(c.conversationId)
      })
      .catch((err: unknown) => setLoadError(err instanceof Error ? err.message : String(err)))
    return () => void session.close()
  }, [session])

  // Conversations from the list first (oldest first), then any the socket brought since.
  const ids = [
    ...new Set([...summaries.map((s) => s.conversationId), ...view.timeline.conversationIds()]),
  ]
  const closed = (id: string) =>
    view.timeline.isClosed(id) ||
    summaries.some((s) => s.conversationId === id && s.status === 'closed')
  const current = [...ids].reverse().find((id) => !closed(id))

  const send = (content: Content) => session.client.send({ conversationId: current, content })
  const retry = (id: string) => session.client.retry(id)
  const discard = (id: string) => session.client.discard(id)
  const openedAt = (id: string) => summaries.find((s) => s.conversationId === id)?.openedAt

  return (
    <div class="page customer">
      <StatusBar who={`Customer ${claims.sub}`} view={view} />
      {loadError && <p class="problem">Could not load your conversations: {loadError}</p>}
      <section class="chat" aria-label="Chat">
        {ids.length === 0 && view.outgoing.length === 0 && (
          <p class="empty">Write to us: an agent will answer here.</p>
        )}
        {ids.map((id) => (
          <MessageList
            key={id}
            viewer="user"
            items={view.timeline.items(id)}
            outgoing={session.outgoingIn(id)}
            onRetry={retry}
            onDiscard={discard}
            header={
              <li class="divider" data-conversation-id={id}>
                Conversation {id}
                {openedAt(id) !== undefined && ` · ${dateTime(openedAt(id) as number)}`}
                {closed(id) && ' · closed'}
              </li>
            }
          />
        ))}
        <MessageList
          viewer="user"
          items={[]}
          outgoing={session.outgoingIn(undefined)}
          onRetry={retry}
          onDiscard={discard}
        />
      </section>
      <Composer onSend={send} />
    </div>
  )
}
