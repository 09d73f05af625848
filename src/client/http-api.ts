import { ClientError, ClientErrorCode } from './errors'
import type { ChatItem, Clock, FetchLike, Participant } from './types'

/** One entry of `GET /v1/conversations/:id/messages` (docs/protocol.md, HTTP API). */
export interface HistoryEntry {
  seq: number
  messageId: string
  from: Participant | { role: 'system'; id: 'system' }
  content?: ChatItem['content']
  event?: string
  agentId?: string
  previousAgentId?: string
  position?: number
  reason?: string
  sentAt: number
}

export interface HttpApiDeps {
  baseUrl: string
  fetch: FetchLike
  clock: Clock
  /** A request not answered by then is aborted (`network_error`). */
  timeoutMs: number
  /** The token for the next request. */
  token(): Promise<string>
  /** Asked once when a request gets 401, so a provider can hand out a fresh token. */
  refreshToken?(): Promise<string>
}

/**
 * The authenticated JSON calls to the HTTP API. Failures become `ClientError`s here and nowhere
 * else: the server's `{ code, message }` body with its status, `network_error` when the server
 * could not be reached, `bad_response` when the body is not the JSON expected.
 */
export class HttpApi {
  constructor(private readonly deps: HttpApiDeps) {}

  /** `path` is absolute below the base URL, e.g. `/v1/conversations?status=open`. */
  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    try {
      return await this.once<T>(path, init, await this.deps.token())
    } catch (err) {
      if (!(err instanceof ClientError) || err.status !== 401 || !this.deps.refreshToken) throw err
      return this.once<T>(path, init, await this.deps.refreshToken())
    }
  }

  /** One page of a conversation's timeline after `afterSeq`, ascending by seq. */
  async historyPage(conversationId: string, afterSeq: number, limit: number) {
    const path =
      `/v1/conversations/${encodeURIComponent(conversationId)}/messages` +
      `?afterSeq=${afterSeq}&limit=${limit}`
    const body = await this.request<{ messages?: unknown }>(path)
    if (!Array.isArray(body.messages)) {
      throw new ClientError(ClientErrorCode.BadResponse, 'history without a messages array')
    }
    return body.messages as HistoryEntry[]
  }

  /** True when the server refuses `token` with 401; false when it accepts it or is unreachable. */
  async refuses(token: string): Promise<boolean> {
    try {
      await this.once('/v1/conversations?limit=1', {}, token)
      return false
    } catch (err) {
      return err instanceof ClientError && err.status === 401
    }
  }

  private async once<T>(path: string, init: RequestInit, token: string): Promise<T> {
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${token}`)
    if (init.body !== undefined && !headers.has('content-type')) {
      headers.set('content-type', 'application/json')
    }
    // A hung request would stall a conversation's catch-up: abort it on the client's clock.
    const controller = new AbortController()
    const timer = this.deps.clock.setTimeout(() => controller.abort(), this.deps.timeoutMs)
    let response: Response
    let text: string
    try {
      const signal = init.signal ?? controller.signal
      response = await this.deps.fetch(this.deps.baseUrl + path, { ...init, headers, signal })
      text = await response.text()
    } catch (err) {
      const why = controller.signal.aborted ? 'timed out' : `failed: ${String(err)}`
      throw new ClientError(ClientErrorCode.Network, `request ${why}`)
    } finally {
      this.deps.clock.clearTimeout(timer)
    }
    const body = parseJson(text)
    if (!response.ok) {
      const { code, message } = (body ?? {}) as { code?: unknown; message?: unknown }
      throw new ClientError(
        typeof code === 'string' ? code : `http_${response.status}`,
        typeof message === 'string' ? message : `HTTP ${response.status}`,
        { status: response.status },
      )
    }
    if (body === undefined) {
      throw new ClientError(ClientErrorCode.BadResponse, `not JSON from ${path.split('?')[0]}`)
    }
    return body as T
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
