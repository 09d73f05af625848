import type { Participant } from '../../src/domain/shared/participant'
import {
  abandoned,
  acked,
  agent,
  assigned,
  closed,
  opened,
  pushed,
  queued,
  seatReleased,
  seatsSet,
  seatTaken,
  sent,
  user,
  type AnyEvent,
} from './fixture'

/** A small seeded generator (mulberry32), so a failing history can be replayed by its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let r = Math.imul(a ^ (a >>> 15), 1 | a)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}

interface Sim {
  id: string
  userId: string
  status: 'none' | 'new' | 'queued' | 'open' | 'closed'
  agentId: string | null
  seq: number
  /** Every timeline entry: its seq and sender (null for a notice). */
  entries: { seq: number; from: Participant | null }[]
  /** Pushes so far by `seq|role:id`; -1 once acknowledged or abandoned. */
  deliveries: Map<string, number>
}

const key = (seq: number, p: Participant): string => `${seq}|${p.role}:${p.id}`

/**
 * A history that follows the conversation rules closely enough for the projections: several
 * conversations interleaved, seats taken and released, pushes, acknowledgements, abandonment.
 */
export function randomHistory(seed: number, count: number, conversations = 8): AnyEvent[] {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
  const agents = ['a1', 'a2', 'a3']
  const sims: Sim[] = Array.from({ length: conversations }, (_, i) => ({
    id: `c${seed}x${i}`,
    userId: `u${i % 5}`,
    status: 'none',
    agentId: null,
    seq: 0,
    entries: [],
    deliveries: new Map(),
  }))
  const out: AnyEvent[] = []

  const recipients = (s: Sim, from: Participant | null): Participant[] => {
    const u = [user(s.userId)]
    const a = s.agentId === null ? [] : [agent(s.agentId)]
    if (from === null) return [...u, ...a]
    return from.role === 'user' ? a : u
  }
  const entry = (s: Sim, from: Participant | null): number => {
    s.seq += 1
    s.entries.push({ seq: s.seq, from })
    return s.seq
  }

  while (out.length < count) {
    const s = pick(sims)
    const roll = random()

    if (s.status === 'none') {
      out.push(opened(s.id, s.userId, 1_000 + out.length))
      s.status = 'new'
    } else if (roll < 0.05) {
      out.push(seatsSet(pick(agents), 1 + Math.floor(random() * 5)))
    } else if ((s.status === 'new' || s.status === 'queued') && roll < 0.25) {
      const agentId = pick(agents)
      out.push(seatTaken(agentId, s.id), assigned(s.id, s.seq + 1, agentId))
      entry(s, null)
      s.status = 'open'
      s.agentId = agentId
    } else if (s.status === 'new' && roll < 0.35) {
      out.push(queued(s.id, entry(s, null), 1 + Math.floor(random() * 3)))
      s.status = 'queued'
    } else if (s.status !== 'closed' && roll < 0.6) {
      const from = s.agentId !== null && random() < 0.5 ? agent(s.agentId) : user(s.userId)
      out.push(sent(s.id, s.seq + 1, from, 1_000 + out.length))
      entry(s, from)
    } else if (s.status !== 'closed' && roll < 0.63) {
      out.push(closed(s.id, s.seq + 1, s.agentId))
      if (s.agentId !== null) out.push(seatReleased(s.agentId, s.id))
      entry(s, null)
      s.status = 'closed'
    } else {
      // A push, an acknowledgement or an abandonment of a delivery still open.
      const open = s.entries.flatMap((e) =>
        recipients(s, e.from)
          .map((to) => ({ e, to, pushes: s.deliveries.get(key(e.seq, to)) ?? 0 }))
          .filter((d) => d.pushes >= 0),
      )
      if (open.length === 0) continue
      const d = pick(open)
      const what = random()
      if (what < 0.5 || d.pushes === 0) {
        out.push(pushed(s.id, d.e.seq, d.to, d.pushes + 1, 2_000 + out.length))
        s.deliveries.set(key(d.e.seq, d.to), d.pushes + 1)
      } else {
        out.push(what < 0.9 ? acked(s.id, d.e.seq, d.to) : abandoned(s.id, d.e.seq, d.to))
        s.deliveries.set(key(d.e.seq, d.to), -1)
      }
    }
  }
  return out
}
