import type { WebSocketConstructor, WebSocketLike } from '../../../src/client/types'
import type { VirtualClock } from './virtual-clock'

type Frame = Record<string, unknown> & { type: string }
type Who = { role: string; id: string }

/** A JWT-shaped token the fake server reads; `valid: false` is refused like an expired one. */
export function fakeToken(role: string, id: string, valid = true): string {
  const payload = Buffer.from(JSON.stringify({ sub: id, role })).toString('base64url')
  return `eyJhbGciOiJIUzI1NiJ9.${payload}.${valid ? 'good' : 'expired'}`
}

function readToken(token: string | null): Who | undefined {
  const [, payload, sig] = (token ?? '').split('.')
  if (sig !== 'good' || !payload) return undefined
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
    sub: string
    role: string
  }
  return { role: claims.role, id: claims.sub }
}

interface Entry extends Record<string, unknown> {
  seq: number
  messageId: string
}

interface Conversation {
  id: string
  userId: string
  agentId: string
  timeline: Entry[]
  keys: Map<string, Entry>
}

/** One socket as the fake server sees it. */
export class FakeConnection {
  readonly received: Frame[] = []
  open = true
  constructor(
    readonly who: Who,
    readonly socket: FakeSocket,
    readonly openedAt: number,
  ) {}
}

class FakeSocket implements WebSocketLike {
  readyState = 0
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: string }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  connection?: FakeConnection

  constructor(
    private readonly server: FakeServer,
    readonly url: string,
  ) {
    server.attempts.push(server.clock.now())
    queueMicrotask(() => server.accept(this))
  }

  send(data: string): void {
    if (this.readyState !== 1 || !this.connection) throw new Error('send on a socket not open')
    this.server.handle(this.connection, JSON.parse(data) as Frame)
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === 3) return
    this.readyState = 3
    if (this.connection) this.connection.open = false
    queueMicrotask(() => this.onclose?.({ code, reason }))
  }

  /** The server's side of a frame: delivered asynchronously, as a real socket does. */
  deliver(frame: Frame): void {
    queueMicrotask(() => {
      if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify(frame) })
    })
  }
}

/**
 * An in-process Parley double: sockets and fetch that follow docs/protocol.md where the SDK
 * depends on it (sent/error answers, one message per clientMsgId, pushes to the other side,
 * heartbeat answers, 401 on a bad token, paged history). Tests make it misbehave on command.
 */
export class FakeServer {
  readonly connections: FakeConnection[] = []
  readonly attempts: number[] = []
  readonly historyRequests: { conversationId: string; afterSeq: number; limit: number }[] = []
  readonly conversations = new Map<string, Conversation>()
  /** Sockets fail before opening, and fetch cannot connect. */
  down = false
  /** Heartbeats get no answer. */
  muteHeartbeats = false
  /** Outgoing frames the server drops: each predicate drops one matching frame, then goes. */
  private drops: ((f: Frame) => boolean)[] = []
  private historyGate: Promise<void> | undefined
  private ids = 1000
  readonly WebSocket: WebSocketConstructor

  constructor(readonly clock: VirtualClock) {
    const server = this
    this.WebSocket = class extends FakeSocket {
      constructor(url: string) {
        super(server, url)
      }
    }
  }

  accept(socket: FakeSocket): void {
    if (socket.readyState !== 0) return
    const who = this.down ? undefined : readToken(new URL(socket.url).searchParams.get('token'))
    if (!who) {
      socket.readyState = 3
      socket.onerror?.({
        message: this.down ? 'connect ECONNREFUSED' : 'Unexpected server response: 401',
      })
      socket.onclose?.({ code: 1006, reason: '' })
      return
    }
    socket.readyState = 1
    const connection = new FakeConnection(who, socket, this.clock.now())
    socket.connection = connection
    this.connections.push(connection)
    socket.onopen?.({})
  }

  /** Open sockets of one participant. */
  socketsOf(role: string, id: string): FakeConnection[] {
    return this.connections.filter((c) => c.open && c.who.role === role && c.who.id === id)
  }

  /** Every frame of `type` received from a participant, over all sockets. */
  framesFrom(role: string, id: string, type: string): Frame[] {
    return this.connections
      .filter((c) => c.who.role === role && c.who.id === id)
      .flatMap((c) => c.received.filter((f) => f.type === type))
  }

  ackedBy(role: string, id: string): string[] {
    return this.framesFrom(role, id, 'ack').flatMap((f) => f.messageIds as string[])
  }

  /** Drop the next outgoing frame that matches. */
  dropNext(match: (f: Frame) => boolean): void {
    this.drops.push(match)
  }

  /** Server-side socket loss (1006) for every socket of the participant. */
  kill(role: string, id: string): void {
    for (const c of this.socketsOf(role, id)) c.socket.close(1006, '')
  }

  /** Holds history answers until the returned function is called (or the request is aborted). */
  pauseHistory(): () => void {
    let release!: () => void
    this.historyGate = new Promise<void>((resolve) => (release = resolve))
    return () => {
      this.historyGate = undefined
      release()
    }
  }

  /** A conversation between a user and an agent, with nothing in it yet. */
  open(userId: string, agentId: string): string {
    const id = String((this.ids += 1))
    this.conversations.set(id, { id, userId, agentId, timeline: [], keys: new Map() })
    return id
  }

  /** Stores a message or notice and pushes it to the given recipients (unless `push: false`). */
  append(conversationId: string, body: Record<string, unknown>, to: Who[]): Entry {
    const c = this.conversations.get(conversationId)!
    const entry: Entry = {
      seq: c.timeline.length + 1,
      messageId: String((this.ids += 1)),
      sentAt: this.clock.now(),
      ...body,
    }
    c.timeline.push(entry)
    for (const who of to) this.pushTo(who, c.id, entry)
    return entry
  }

  /** (Re-)pushes a stored entry to every socket of `who`. */
  pushTo(who: Who, conversationId: string, entry: Entry): void {
    const type = entry.event !== undefined ? 'system' : 'message'
    for (const c of this.socketsOf(who.role, who.id)) {
      this.write(c, { type, conversationId, ...entry })
    }
  }

  entry(conversationId: string, seq: number): Entry {
    return this.conversations.get(conversationId)!.timeline[seq - 1]
  }

  write(connection: FakeConnection, frame: Frame): void {
    const drop = this.drops.findIndex((match) => match(frame))
    if (drop !== -1) {
      this.drops.splice(drop, 1)
      return
    }
    connection.socket.deliver(frame)
  }

  handle(connection: FakeConnection, frame: Frame): void {
    connection.received.push({ ...frame, at: this.clock.now() })
    if (frame.type === 'heartbeat' && !this.muteHeartbeats)
      this.write(connection, { type: 'heartbeat' })
    if (frame.type === 'send') this.send(connection, frame)
  }

  private send(connection: FakeConnection, frame: Frame): void {
    const { who } = connection
    const clientMsgId = String(frame.clientMsgId)
    let c = frame.conversationId ? this.conversations.get(String(frame.conversationId)) : undefined
    if (!c && who.role === 'user') {
      c = [...this.conversations.values()].reverse().find((x) => x.userId === who.id)
      c ??= this.conversations.get(this.open(who.id, 'agent-of-' + who.id))!
    }
    if (!c)
      return this.write(connection, {
        type: 'error',
        code: 'not_found',
        message: 'no such conversation',
        clientMsgId,
      })
    const key = `${who.role}:${who.id}:${clientMsgId}`
    let entry = c.keys.get(key)
    if (!entry) {
      const other =
        who.role === 'user' ? { role: 'agent', id: c.agentId } : { role: 'user', id: c.userId }
      entry = this.append(c.id, { from: who, content: frame.content }, [other])
      c.keys.set(key, entry)
    }
    const { seq, messageId, sentAt } = entry
    this.write(connection, {
      type: 'sent',
      clientMsgId,
      messageId,
      conversationId: c.id,
      seq,
      sentAt,
    })
  }

  /** Messages stored under a clientMsgId (to count duplicates). */
  stored(conversationId: string): Entry[] {
    return this.conversations.get(conversationId)?.timeline ?? []
  }

  /** fetch for the HTTP API: the probe and the paged history. */
  readonly fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    if (this.down) throw new TypeError('fetch failed')
    const url = new URL(input)
    const auth = new Headers(init?.headers).get('authorization') ?? ''
    const who = readToken(auth.replace(/^Bearer /, ''))
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status })
    if (!who) return json(401, { code: 'unauthorized', message: 'token expired' })

    const history = /^\/v1\/conversations\/([^/]+)\/messages$/.exec(url.pathname)
    if (url.pathname === '/v1/conversations')
      return json(200, { conversations: [], nextCursor: null })
    if (!history) return json(404, { code: 'not_found', message: `no route GET ${url.pathname}` })

    const conversationId = decodeURIComponent(history[1])
    const afterSeq = Number(url.searchParams.get('afterSeq') ?? 0)
    const limit = Number(url.searchParams.get('limit') ?? 100)
    this.historyRequests.push({ conversationId, afterSeq, limit })
    const signal = init?.signal
    const aborted = new Promise<never>((_, reject) =>
      signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
    )
    aborted.catch(() => {})
    await Promise.race([this.historyGate, aborted])
    const c = this.conversations.get(conversationId)
    if (!c) return json(404, { code: 'not_found', message: 'no such conversation' })
    if (!(c.userId === who.id || c.agentId === who.id))
      return json(403, { code: 'forbidden', message: 'not yours' })
    const messages = c.timeline.filter((e) => e.seq > afterSeq).slice(0, limit)
    return json(200, { messages })
  }
}
