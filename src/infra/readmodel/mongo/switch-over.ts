import type { ClientSession, Db } from 'mongodb'
import { ReadModelGenerationError, type CheckpointState, type SwitchOverRequest } from '../port'
import { Checkpoints } from './checkpoints'
import { Aliases, collectionName } from './names'

/**
 * The switch itself, inside the switch-over's transaction after its final catch-up: checks the
 * shadow's claim, points each live name at its shadow's physical collection (documents and
 * indexes with it), removes the shadow's alias, retires the live one's old collection, moves
 * the live checkpoint to the shadow's position with the next generation and ends the claim.
 * A reader resolves one alias per read, so it sees the old collection or the new one.
 */
export async function switchIn(
  db: Db,
  session: ClientSession,
  { projection, shadow, collections }: SwitchOverRequest,
): Promise<CheckpointState> {
  const checkpoints = new Checkpoints(db)
  const aliases = new Aliases(db)

  const claimed = await checkpoints.read(shadow.projection, session)
  if (claimed.generation !== shadow.generation) {
    throw new ReadModelGenerationError(shadow.projection, shadow.generation, claimed.generation)
  }

  const physical = await aliases.all(session)
  for (const { live, shadow: replacement } of collections) {
    const incoming = physical.get(collectionName(replacement))
    if (incoming === undefined) throw new Error(`no shadow collection ${replacement}`)
    const outgoing = physical.get(collectionName(live))
    await aliases.point(live, incoming, session)
    await aliases.remove(replacement, session)
    if (outgoing !== undefined && outgoing !== incoming) await aliases.retire(outgoing, session)
  }

  const before = await checkpoints.read(projection, session)
  const next = { position: claimed.position, generation: before.generation + 1 }
  await checkpoints.write(projection, before, next, session)
  const ended = { position: undefined, generation: claimed.generation + 1 }
  await checkpoints.write(shadow.projection, claimed, ended, session)
  return next
}
