import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { ParleyError } from '../../domain/shared/errors'

/** The file whose lock marks a data directory as in use by a running server. */
export const LOCK_FILE = 'server.lock'
/** Code of the error a second server on the same data directory stops with. */
export const DATA_DIR_LOCKED = 'data_dir_locked' as const

export class DataDirLockedError extends ParleyError {
  constructor(dataDir: string) {
    super(
      DATA_DIR_LOCKED,
      `PARLEY_DATA_DIR ${dataDir} is in use by another running Parley server; ` +
        'stop it, or give this one its own data directory',
      { dataDir },
    )
  }
}

export interface DataDirLock {
  release(): void
}

/**
 * Claims the data directory for this process, so that two servers never share one embedded
 * store (each would miss the other's live events and dispatch the same queue).
 *
 * The claim is an exclusive SQLite transaction held open on a small lock file: the operating
 * system drops the lock when the process ends in any way, `kill -9` included, so there is no
 * stale lock to clean up. Read-only tools (replay, verify) do not take it.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true })
  const db = new Database(join(dataDir, LOCK_FILE), { timeout: 0 })
  try {
    db.exec('BEGIN EXCLUSIVE')
  } catch (err) {
    db.close()
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new DataDirLockedError(dataDir)
    throw err
  }
  return {
    release() {
      if (!db.open) return
      db.exec('ROLLBACK')
      db.close()
    },
  }
}
