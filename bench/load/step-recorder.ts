import { Latencies } from '../support/histogram'
import type { Fleet, FleetUser } from './fleet'
import type { Frame } from './socket'

// Content of each message besides its step and index: about 100 bytes, a typical chat line.
const PAD =
  'Where is my order? It was due on Tuesday and the tracking page still says label created.'

/**
 * What one open-loop step saw: each message `k` of the step is due at `dueAt(k)`; its receipt
 * by an agent and its `sent` answer are timed from that due time, once each. Messages carry the
 * step and index in their text (`<step>:<k>:...`) and clientMsgId (`s<step>-<k>`), so late
 * frames of an earlier step are told apart and ignored.
 */
export class StepRecorder {
  readonly receipt = new Latencies()
  readonly sentRoundTrip = new Latencies()
  readonly sendLag = new Latencies()
  readonly errors: Record<string, number> = {}
  delivered = 0
  duplicates = 0
  answered = 0
  lastDeliveryAt = 0
  private readonly receivedK: Uint8Array
  private readonly answeredK: Uint8Array
  private readonly textPrefix: string
  private readonly idPrefix: string
  private t0 = 0

  constructor(
    step: number,
    readonly total: number,
    private readonly intervalMs: number,
  ) {
    this.receivedK = new Uint8Array(total)
    this.answeredK = new Uint8Array(total)
    this.textPrefix = `${step}:`
    this.idPrefix = `s${step}-`
  }

  /** Starts the clock: message 0 is due at `t0`. */
  start(t0: number): void {
    this.t0 = t0
  }

  dueAt(k: number): number {
    return this.t0 + k * this.intervalMs
  }

  /** The `send` frame of message `k` from `user`. */
  frameFor(k: number, user: FleetUser): Record<string, unknown> {
    return {
      type: 'send',
      clientMsgId: `${this.idPrefix}${k}`,
      conversationId: user.conversationId,
      content: { format: 'text', text: `${this.textPrefix}${k}:${PAD}` },
    }
  }

  get complete(): boolean {
    return this.delivered >= this.total && this.answered >= this.total
  }

  attach(fleet: Fleet): void {
    for (const agent of fleet.agents) agent.onFrame = (f) => this.atAgent(f)
    for (const { socket } of fleet.users) socket.onFrame = (f) => this.atUser(f)
  }

  detach(fleet: Fleet): void {
    for (const agent of fleet.agents) agent.onFrame = () => {}
    for (const { socket } of fleet.users) socket.onFrame = () => {}
  }

  private atAgent(f: Frame): void {
    if (f.type === 'error') return this.countError(f.code)
    if (f.type !== 'message') return
    const text = (f.content as { text?: unknown } | undefined)?.text
    if (typeof text !== 'string' || !text.startsWith(this.textPrefix)) return
    const start = this.textPrefix.length
    const k = Number(text.slice(start, text.indexOf(':', start)))
    if (!(k >= 0 && k < this.total)) return
    if (this.receivedK[k] === 1) {
      this.duplicates += 1
      return
    }

    const now = performance.now()
    this.receivedK[k] = 1
    this.delivered += 1
    this.lastDeliveryAt = now
    this.receipt.recordMs(now - this.dueAt(k))
  }

  private atUser(f: Frame): void {
    if (f.type === 'error') return this.countError(f.code)
    const id = f.clientMsgId
    if (f.type !== 'sent' || typeof id !== 'string' || !id.startsWith(this.idPrefix)) return
    const k = Number(id.slice(this.idPrefix.length))
    if (!(k >= 0 && k < this.total) || this.answeredK[k] === 1) return

    this.answeredK[k] = 1
    this.answered += 1
    this.sentRoundTrip.recordMs(performance.now() - this.dueAt(k))
  }

  private countError(code: unknown): void {
    this.errors[String(code)] = (this.errors[String(code)] ?? 0) + 1
  }
}
