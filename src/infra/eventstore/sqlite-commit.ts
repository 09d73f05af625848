import type Database from 'better-sqlite3'
import { categoryOf } from '../../domain/shared/streams'
import { checkExpectedRevision, findIdempotentResult } from './append-rules'
import type { PruneOptions } from './port'
import type { EventStatements } from './sqlite-schema'
import {
  type AppendOutcome,
  type AppendRequest,
  type WriteReply,
  type WriteRequest,
  isAppendOwnError,
  serializeError,
} from './sqlite-writer-protocol'

/** Runs write requests on the connection that owns the writes, wherever that connection lives. */
export interface Committer {
  /** Commits a run of requests: consecutive appends share one transaction, a prune runs alone. */
  run(requests: readonly WriteRequest[]): WriteReply[]
  /** Events written since the store opened, for checkpoint pacing. */
  eventsWritten(): number
}

export function createCommitter(db: Database.Database, sql: EventStatements): Committer {
  let eventsWritten = 0

  const appendOne = (append: AppendRequest, at: number): AppendOutcome & { ok: true } => {
    const { streamName, rows } = append
    if (rows.some((row) => row.chosen)) {
      const events = rows.map(({ id, chosen, type }) => ({
        id: chosen ? id : undefined,
        type,
        data: null,
      }))
      const retried = findIdempotentResult(streamName, events, (id) => {
        const row = sql.findById.get(id)
        return row && { streamName: row.stream, revision: row.revision, position: row.position }
      })
      if (retried !== undefined) return { ok: true, ...retried, written: 0 }
    }

    const current = sql.streamRevision.get(streamName)
    checkExpectedRevision(streamName, append.expected, current)
    if (rows.length === 0) {
      return {
        ok: true,
        nextExpectedRevision: current ?? -1n,
        position: sql.head.get() ?? 0n,
        written: 0,
      }
    }

    const category = categoryOf(streamName)
    let revision = current ?? -1n
    let position = 0n
    for (const { id, chosen, type, data, metadata } of rows) {
      revision += 1n
      const info = sql.insert(id, streamName, revision, type, data, metadata, at, category, chosen)
      position = BigInt(info.lastInsertRowid)
    }
    return { ok: true, nextExpectedRevision: revision, position, written: rows.length }
  }

  // Only a ParleyError (a lost race, a reused id) is that append's own failure; anything else
  // (a full disk, an I/O error) escapes, rolls the whole group back and fails every append in it.
  const commitGroup = db.transaction((group: readonly AppendRequest[], at: number) =>
    group.map((append): AppendOutcome => {
      try {
        return appendOne(append, at)
      } catch (err) {
        if (isAppendOwnError(err)) return { ok: false, error: serializeError(err) }
        throw err
      }
    }),
  )

  const commit = (group: readonly AppendRequest[]): WriteReply => {
    const recordedAt = Date.now()
    try {
      // IMMEDIATE takes the write lock up front, so a second process writing the same file makes
      // this wait (busy timeout) instead of failing when a read lock is upgraded.
      const outcomes = commitGroup.immediate(group, recordedAt)
      for (const outcome of outcomes) if (outcome.ok) eventsWritten += outcome.written
      return { kind: 'committed', recordedAt, outcomes }
    } catch (err) {
      return { kind: 'failed', count: group.length, error: serializeError(err) }
    }
  }

  const prune = ({ category, type, recordedBefore, keepLatestBy }: PruneOptions): WriteReply => {
    try {
      // Positions never go back (AUTOINCREMENT), so a deleted event leaves a gap that readers
      // skip; the kept newest event per stream also keeps each stream's revision where it was.
      const info = db
        .prepare(
          `DELETE FROM events
           WHERE category = ? AND type = ? AND recorded_at < ?
             AND position NOT IN (
               SELECT MAX(position) FROM events WHERE category = ? AND type = ?
               GROUP BY stream, json_extract(data, '$.${keepLatestBy}'))`,
        )
        .run(category, type, recordedBefore, category, type)
      return { kind: 'pruned', count: info.changes }
    } catch (err) {
      return { kind: 'failed', count: 1, error: serializeError(err) }
    }
  }

  return {
    run(requests) {
      const replies: WriteReply[] = []
      let group: AppendRequest[] = []
      for (const request of requests) {
        if (request.kind === 'append') {
          group.push(request)
          continue
        }
        if (group.length > 0) replies.push(commit(group))
        group = []
        replies.push(prune(request.options))
      }
      if (group.length > 0) replies.push(commit(group))
      return replies
    },
    eventsWritten: () => eventsWritten,
  }
}
