import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { DataDirLockedError, lockDataDir } from '../../src/infra/lock/data-dir-lock'

t.test('a second claim on a data directory is refused until the first is released', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-lock-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  const first = lockDataDir(dir)
  t.throws(() => lockDataDir(dir), DataDirLockedError)
  t.throws(() => lockDataDir(dir), { code: 'data_dir_locked', message: /PARLEY_DATA_DIR/ })

  first.release()
  const again = lockDataDir(dir)
  again.release()
  again.release()
  t.pass('released twice without error')
})
