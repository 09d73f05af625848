import type { AnyBulkWriteOperation, ClientSession, Db, Document } from 'mongodb'
import { ReadModelCheckpointMovedError, type CommitOptions, type DocChange } from '../port'
import { Checkpoints } from './checkpoints'
import { padPosition, stampOf, STAMP, toStored } from './documents'
import { Aliases, collectionName } from './names'

// Documents are keyed by string: `_id` is the port's key.
type Operation = AnyBulkWriteOperation<{ _id: string }>

/**
 * The write of one change, or none.
 *
 * The `_pos` rule: a document stamped by the runner is written only if the stored one has an
 * older stamp or none, evaluated by the server in one pipeline update, so a batch delivered
 * twice (after a crash, or by a second node) applies each event once. Stamps at or before the
 * stored checkpoint are dropped before that: commits are transactions, so the stored documents
 * are exactly those of the checkpoint, and such an event is in them already, even if a later
 * one deleted its document. Unstamped documents (written by callers other than the runner) are
 * replaced as they are. A delete carries no stamp: it is applied unless the document was
 * written after this whole batch (a stamp past `checkpoint`).
 */
function operationOf(
  change: DocChange,
  stored: bigint | undefined,
  checkpoint: bigint,
): Operation | undefined {
  if (change.doc === null) {
    const newer = { [STAMP]: { $gt: padPosition(checkpoint) } }
    return { deleteOne: { filter: { _id: change.key, $nor: [newer] } } }
  }

  const doc = toStored(change.key, change.doc)
  const stamp = stampOf(change.doc)
  if (stamp === undefined)
    return { replaceOne: { filter: { _id: change.key }, replacement: doc, upsert: true } }
  if (stored !== undefined && stamp <= stored) return undefined

  // `$literal`: the document's own values must not be read as expressions (a "$x" string).
  const olderOrNone = { $lt: [{ $ifNull: [`$${STAMP}`, ''] }, doc[STAMP]] }
  const update = [{ $replaceWith: { $cond: [olderOrNone, { $literal: doc }, '$$ROOT'] } }]
  return { updateOne: { filter: { _id: change.key }, update, upsert: true } }
}

/** Consecutive changes to one collection, which one `bulkWrite` takes, in order. */
function runs(changes: readonly DocChange[]): { collection: string; changes: DocChange[] }[] {
  const out: { collection: string; changes: DocChange[] }[] = []
  for (const change of changes) {
    const last = out.at(-1)
    if (last?.collection === change.collection) last.changes.push(change)
    else out.push({ collection: change.collection, changes: [change] })
  }
  return out
}

/**
 * A commit's body, inside the caller's transaction: generation and position checks, the
 * documents (one ordered `bulkWrite` per run of one collection, in the batch's order), then the
 * checkpoint, which never moves back: a writer behind another leaves the later position in place.
 */
export async function commitIn(
  db: Db,
  session: ClientSession,
  request: {
    projection: string
    changes: readonly DocChange[]
    checkpoint: bigint
  } & CommitOptions,
): Promise<void> {
  const { projection, changes, checkpoint, generation, position: expected } = request
  const checkpoints = new Checkpoints(db)
  const aliases = new Aliases(db)
  for (const change of changes) collectionName(change.collection)

  const before = await checkpoints.check(projection, generation, session)
  const stored = before.position
  if (expected !== undefined && (stored ?? null) !== expected) {
    throw new ReadModelCheckpointMovedError(projection, expected, stored ?? null)
  }

  for (const run of runs(changes)) {
    const physical = await aliases.resolve(run.collection, session)
    const operations = run.changes
      .map((change) => operationOf(change, stored, checkpoint))
      .filter((op): op is Operation => op !== undefined)
    if (operations.length === 0) continue
    await db.collection<{ _id: string }>(physical).bulkWrite(operations, { session, ordered: true })
  }

  const position = stored !== undefined && stored > checkpoint ? stored : checkpoint
  await checkpoints.write(projection, before, { position, generation: before.generation }, session)
}
