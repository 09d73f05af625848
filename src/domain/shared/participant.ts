/** Who takes part in a conversation. Wire values are plain strings. */
export const Role = { User: 'user', Agent: 'agent', Admin: 'admin' } as const
export type Role = (typeof Role)[keyof typeof Role]

export interface Participant {
  role: Role
  id: string
}

/** A stable string for a participant, used as a map key and inside stream names. */
export function participantKey(p: Participant): string {
  return `${p.role}:${p.id}`
}

export function sameParticipant(a: Participant, b: Participant): boolean {
  return a.role === b.role && a.id === b.id
}
