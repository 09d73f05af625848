import { render } from 'preact'
import { useState } from 'preact/hooks'
import { AgentPage } from './agent-page'
import { CustomerPage } from './customer-page'
import { TokenGate } from './page-parts'
import { readClaims, tokenFromUrl, tokenProblem } from './token'

const ROLES = { customer: 'user', agent: 'agent' } as const

/** A page that needs a token: from the URL if it fits, else from the paste box. */
function Signed({ page }: { page: keyof typeof ROLES }) {
  const role = ROLES[page]
  const fromUrl = tokenFromUrl()
  const [token, setToken] = useState<string | null>(
    fromUrl && tokenProblem(fromUrl, role) === null ? fromUrl : null,
  )
  const claims = token ? readClaims(token) : null
  const title = page === 'agent' ? 'Agent desk' : 'Customer chat'

  if (!token || !claims) {
    return (
      <div class="page gate">
        {fromUrl && <p class="problem">{tokenProblem(fromUrl, role)}</p>}
        <TokenGate role={role} title={title} onToken={setToken} />
      </div>
    )
  }
  if (page === 'agent') return <AgentPage token={token} claims={claims} />
  return <CustomerPage token={token} claims={claims} />
}

function Index() {
  return (
    <div class="page index">
      <h1>Parley console</h1>
      <p>
        Two pages for trying Parley in a browser. Make tokens with <code>npx parley token</code> and
        open each page with <code>?token=…</code>, or paste the token when asked.
      </p>
      <ul>
        <li>
          <a href="/console/customer">Customer chat</a>:{' '}
          <code>npx parley token --role user --id u1</code>
        </li>
        <li>
          <a href="/console/agent">Agent desk</a>:{' '}
          <code>npx parley token --role agent --id a1 --seats 3</code>
        </li>
      </ul>
    </div>
  )
}

const page = document.body.dataset.page
const root = document.getElementById('app')
if (root) {
  // render() keeps what the page was served with, so the build's "Loading…" line goes first.
  root.replaceChildren()
  render(page === 'customer' || page === 'agent' ? <Signed page={page} /> : <Index />, root)
}
