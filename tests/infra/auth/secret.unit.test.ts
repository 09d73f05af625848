import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { AUTH_SECRET_FILE, resolveAuthSecret } from '../../../src/infra/auth/secret'
import { ConfigError } from '../../../src/infra/config/config'
import type { Logger } from '../../../src/infra/logging/logger'

interface Line {
  level: string
  fields: Record<string, unknown>
  msg: string
}

/** A logger that keeps what it was given, to assert on levels and fields. */
function recordingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = []
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg: string): void => {
      lines.push({ level, fields, msg })
    }
  const logger = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  }
  return logger
}

t.test('generates a random secret into a new data directory with mode 0600', async (t) => {
  const dataDir = join(t.testdir(), 'nested', 'data')
  const logger = recordingLogger()

  const secret = await resolveAuthSecret({ dataDir, logger })

  const path = join(dataDir, AUTH_SECRET_FILE)
  t.match(secret, /^[A-Za-z0-9_-]{64}$/)
  t.equal((await readFile(path, 'utf8')).trim(), secret)
  t.equal((await stat(path)).mode & 0o777, 0o600)
  t.equal(logger.lines.length, 1)
  t.match(logger.lines[0], { level: 'info', msg: 'auth secret generated', fields: { path } })
  t.match(String(logger.lines[0].fields.command), /^parley token --role .* --id <id>/)
  t.notMatch(JSON.stringify(logger.lines), secret)
})

t.test('reuses the secret it generated before', async (t) => {
  const dataDir = t.testdir()
  const logger = recordingLogger()

  const first = await resolveAuthSecret({ dataDir })
  const second = await resolveAuthSecret({ dataDir, logger })

  t.equal(second, first)
  t.strictSame(logger.lines, [])
})

t.test('two concurrent first runs agree on one secret', async (t) => {
  const dataDir = t.testdir()

  const secrets = await Promise.all([1, 2, 3, 4].map(() => resolveAuthSecret({ dataDir })))

  t.equal(new Set(secrets).size, 1)
  t.equal((await readFile(join(dataDir, AUTH_SECRET_FILE), 'utf8')).trim(), secrets[0])
})

t.test('prefers the configured secret and leaves the data directory alone', async (t) => {
  const dataDir = t.testdir({ [AUTH_SECRET_FILE]: `${'f'.repeat(64)}\n` })
  const configured = 'c'.repeat(40)

  t.equal(await resolveAuthSecret({ configured, dataDir }), configured)

  const empty = join(t.testdir(), 'never-created')
  t.equal(await resolveAuthSecret({ configured, dataDir: empty }), configured)
  await t.rejects(stat(empty), { code: 'ENOENT' })
})

t.test('refuses a secret file that holds too short a secret', async (t) => {
  const dataDir = t.testdir({ [AUTH_SECRET_FILE]: 'short\n' })

  await t.rejects(resolveAuthSecret({ dataDir }), ConfigError)
})

t.test('warns when the secret file can be read by others', async (t) => {
  const dataDir = t.testdir()
  const path = join(dataDir, AUTH_SECRET_FILE)
  await writeFile(path, 'k'.repeat(64))
  await chmod(path, 0o644)
  const logger = recordingLogger()

  t.equal(await resolveAuthSecret({ dataDir, logger }), 'k'.repeat(64))
  t.match(logger.lines, [{ level: 'warn', msg: 'auth secret file readable by others' }])
})
