import type { ComponentChildren } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import type { ConnectionStatus } from '../client'
import type { ChatSession, SessionView } from './session'
import { tokenProblem, withArticle } from './token'

/** The session's view, redrawn on each of its changes. */
export function useSessionView(session: ChatSession): SessionView {
  const [, setVersion] = useState(0)
  useEffect(() => session.subscribe(() => setVersion(session.view.version)), [session])
  return session.view
}

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Closed',
  unauthorized: 'Token refused: get a new one',
}

/** Who is signed in, the connection status and the last error. */
export function StatusBar(props: { who: string; view: SessionView; children?: ComponentChildren }) {
  const { status, lastError } = props.view
  return (
    <header class="status-bar">
      <span class="who">{props.who}</span>
      {props.children}
      <span class={`status status-${status}`} data-status={status}>
        {STATUS_TEXT[status] ?? status}
      </span>
      {lastError && (
        <span class="last-error" title={lastError.message}>
          {lastError.code}
        </span>
      )}
    </header>
  )
}

/**
 * Asks for a token when the URL has none. The token stays in memory: the page keeps nothing
 * but what the SDK keeps (pending sends), so a reload asks again unless the URL carries it.
 */
export function TokenGate(props: {
  role: 'user' | 'agent'
  title: string
  onToken(token: string): void
}) {
  const [value, setValue] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const seats = props.role === 'agent' ? ' --seats 3' : ''
  const command = `npx parley token --role ${props.role} --id <id>${seats}`

  function submit(event: Event) {
    event.preventDefault()
    const found = tokenProblem(value, props.role)
    if (found) setProblem(found)
    else props.onToken(value.trim())
  }

  return (
    <form class="token-gate" onSubmit={submit}>
      <h1>{props.title}</h1>
      <p>
        Paste {withArticle(props.role)} token, made with <code>{command}</code>, or open this page
        with <code>?token=…</code>.
      </p>
      <textarea
        name="token"
        rows={4}
        aria-label="Token"
        value={value}
        onInput={(e) => setValue((e.target as HTMLTextAreaElement).value)}
      />
      <button type="submit">Open</button>
      {problem && <p class="problem">{problem}</p>}
    </form>
  )
}
