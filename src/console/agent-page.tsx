import { useEffect, useMemo, useState } from 'preact/hooks'
import type { ChatItem } from '../client'
import type { Content } from '../domain/content/schema'
import { AgentSidebar } from './agent-sidebar'
import { Composer } from './composer'
import { DESK_REFRESH_MS, readDesk, type Desk } from './desk'
import { DeskMemory } from './desk-memory'
import { MessageList } from './message-list'
import { StatusBar, useSessionView } from './page-parts'
import { ChatSession, tabStorage } from './session'
import { unreadCount } from './timeline'
import type { TokenClaims } from './token'

const EMPTY_DESK: Desk = { open: [], seats: null, queue: null, queueMore: false, problem: null }

/** Notices after which the desk (conversations, seats, queue) has changed. */
const DESK_EVENTS = new Set(['assigned', 'closed', 'agent_left'])

/**
 * The agent's desk: open conversations with unread counts, seats in use and the queue on the
 * left; the chosen conversation, its composer and Close on the right.
 */
export function AgentPage(props: { token: string; claims: TokenClaims }) {
  const session = useMemo(() => new ChatSession(props.token), [props.token])
  const memory = useMemo(
    () => new DeskMemory(tabStorage(), `parley-console:desk:${props.claims.sub}`),
    [props.claims.sub],
  )
  const view = useSessionView(session)
  const [desk, setDesk] = useState<Desk>(EMPTY_DESK)
  const [selected, setSelected] = useState<string | null>(() => memory.selected())

  useEffect(() => {
    let live = true
    const refresh = () =>
      readDesk(session.client, props.claims.sub, props.claims.seats).then((next) => {
        if (!live) return
        setDesk(next)
        for (const c of next.open) session.follow(c.conversationId)
      })
    const onItem = (item: ChatItem) => {
      if (item.kind === 'system' && item.event && DESK_EVENTS.has(item.event)) void refresh()
    }
    const stopItems = session.onItem(onItem)
    session.start()
    void refresh()
    const timer = setInterval(() => void refresh(), DESK_REFRESH_MS)
    return () => {
      live = false
      clearInterval(timer)
      stopItems()
      void session.close()
    }
  }, [session])

  // Closed conversations stay listed (read-only) for the rest of the visit.
  const openIds = desk.open.map((c) => c.conversationId)
  const closedIds = view.timeline.conversationIds().filter((id) => !openIds.includes(id))
  // A choice restored from before a reload counts once the desk shows that conversation.
  const known = (id: string) => openIds.includes(id) || closedIds.includes(id)
  const shown = selected !== null && known(selected) ? selected : (openIds[0] ?? null)
  const items = shown ? view.timeline.items(shown) : []
  const isClosed = shown !== null && (view.timeline.isClosed(shown) || !openIds.includes(shown))

  // The first conversation shown stays chosen when newer ones arrive, until the agent switches;
  // the choice and what was on screen survive a reload of the tab (DeskMemory).
  useEffect(() => {
    if (shown === null) return
    if (shown !== selected) setSelected(shown)
    memory.select(shown)
  }, [selected, shown])

  // What is on screen counts as read.
  useEffect(() => {
    if (shown && items.length) memory.markViewed(shown, items[items.length - 1].seq)
  })

  const unread = (id: string) =>
    id === shown ? 0 : unreadCount(view.timeline.items(id), memory.viewedSeq(id))

  const send = (content: Content) =>
    shown && session.client.send({ conversationId: shown, content })
  const close = () => {
    if (!shown) return
    session.client.closeConversation(shown).catch((err: unknown) => {
      session.report('close_failed', err)
    })
  }

  return (
    <div class="page agent">
      <StatusBar who={`Agent ${props.claims.sub}`} view={view}>
        <span
          class="seats"
          data-seats-used={desk.seats?.openConversations}
          data-seats={desk.seats?.seats}
        >
          {desk.seats ? `${desk.seats.openConversations} / ${desk.seats.seats} seats` : '— seats'}
        </span>
      </StatusBar>
      <AgentSidebar
        desk={desk}
        timeline={view.timeline}
        openIds={openIds}
        closedIds={closedIds}
        selected={shown}
        unread={unread}
        onSelect={setSelected}
      />
      <section class="chat" aria-label="Conversation">
        {shown === null ? (
          <p class="empty">No conversation yet: new ones arrive here when a customer writes.</p>
        ) : (
          <>
            <header class="chat-header">
              <span>
                Conversation {shown} with{' '}
                {desk.open.find((c) => c.conversationId === shown)?.userId ??
                  items.find((i) => !i.own && i.from)?.from?.id ??
                  'a customer'}
              </span>
              <button type="button" class="close-conversation" disabled={isClosed} onClick={close}>
                {isClosed ? 'Closed' : 'Close conversation'}
              </button>
            </header>
            <MessageList
              viewer="agent"
              items={items}
              outgoing={session.outgoingIn(shown)}
              onRetry={(id) => session.client.retry(id)}
              onDiscard={(id) => session.client.discard(id)}
            />
          </>
        )}
      </section>
      <Composer
        onSend={send}
        disabled={shown === null ? 'no conversation' : isClosed ? 'conversation closed' : undefined}
      />
    </div>
  )
}
