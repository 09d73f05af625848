import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { EXIT_FAILURE, EXIT_USAGE, run } from '../../src/cli/main'
import { AUTH_SECRET_FILE } from '../../src/infra/auth/secret'
import { createTokenVerifier } from '../../src/infra/auth/tokens'

const SECRET = 'the-cli-test-secret-is-long-enough-too'

/** Runs `parley ...args` in-process and keeps what it printed. */
async function parley(args: string[], env: Record<string, string> = {}) {
  let out = ''
  let err = ''
  const io = {
    out: (text: string) => void (out += text),
    err: (text: string) => void (err += text),
    env,
  }

  const code = await run(['node', 'parley', ...args], io)
  return { code, out, err }
}

t.test('prints a token that verifies with the configured secret', async (t) => {
  const dataDir = t.testdir()

  const result = await parley(['token', '--role', 'agent', '--id', 'alice', '--seats', '4'], {
    PARLEY_AUTH_SECRET: SECRET,
    PARLEY_DATA_DIR: dataDir,
  })

  t.equal(result.code, 0)
  t.equal(result.err, '')
  t.match(result.out, /^[\w-]+\.[\w-]+\.[\w-]+\n$/)
  t.strictSame(createTokenVerifier(SECRET).verify(result.out.trim()), {
    role: 'agent',
    id: 'alice',
    seats: 4,
  })
})

t.test('creates the data-dir secret on a fresh clone and signs with it', async (t) => {
  const dataDir = join(t.testdir(), 'data')

  const result = await parley(['token', '--role', 'user', '--id', 'u-1', '--data-dir', dataDir])

  const secret = (await readFile(join(dataDir, AUTH_SECRET_FILE), 'utf8')).trim()
  t.equal(result.code, 0)
  t.match(result.err, 'auth secret generated')
  t.notMatch(result.err, secret)
  t.strictSame(createTokenVerifier(secret).verify(result.out.trim()), { role: 'user', id: 'u-1' })
})

t.test('takes the data directory from PARLEY_DATA_DIR when no flag is given', async (t) => {
  const dataDir = t.testdir()

  const first = await parley(['token', '--role', 'admin', '--id', 'root'], {
    PARLEY_DATA_DIR: dataDir,
  })
  const second = await parley(['token', '--role', 'user', '--id', 'u-2'], {
    PARLEY_DATA_DIR: dataDir,
  })

  const secret = (await readFile(join(dataDir, AUTH_SECRET_FILE), 'utf8')).trim()
  t.equal(first.code, 0)
  t.equal(second.err, '', 'the second run reuses the secret silently')
  t.equal(createTokenVerifier(secret).verify(second.out.trim()).id, 'u-2')
})

t.test('honours --expires-in', async (t) => {
  const env = { PARLEY_AUTH_SECRET: SECRET }

  const result = await parley(['token', '--role', 'user', '--id', 'u-3', '--expires-in', '60'], env)

  const claims = JSON.parse(Buffer.from(result.out.split('.')[1], 'base64url').toString())
  t.ok(Math.abs(claims.exp - (Math.floor(Date.now() / 1000) + 60)) <= 2)
})

t.test('exits with the usage code and a message for a bad command line', async (t) => {
  const env = { PARLEY_AUTH_SECRET: SECRET }
  const cases: Array<[string[], RegExp]> = [
    [['token', '--id', 'x'], /--role/],
    [['token', '--role', 'user'], /--id/],
    [['token', '--role', 'boss', '--id', 'x'], /boss/],
    [['token', '--role', 'agent', '--id', 'x', '--seats', '0'], /--seats/],
    [['token', '--role', 'agent', '--id', 'x', '--seats', 'many'], /--seats/],
    [['token', '--role', 'user', '--id', 'x', '--seats', '2'], /--seats is for --role agent/],
    [['token', '--role', 'user', '--id', 'x', '--expires-in', '-1'], /expires-in/],
    [['tokn'], /unknown command/],
  ]

  for (const [args, message] of cases) {
    const result = await parley(args, env)
    t.equal(result.code, EXIT_USAGE, args.join(' '))
    t.equal(result.out, '', args.join(' '))
    t.match(result.err, message, args.join(' '))
  }
})

t.test('reports a bad id or environment as a failure with a clear message', async (t) => {
  const badId = await parley(['token', '--role', 'user', '--id', 'has space'], {
    PARLEY_AUTH_SECRET: SECRET,
  })
  const badEnv = await parley(['token', '--role', 'user', '--id', 'u-4'], {
    PARLEY_AUTH_SECRET: 'short',
  })

  t.equal(badId.code, EXIT_FAILURE)
  t.match(badId.err, /^parley: token sub must be/)
  t.equal(badEnv.code, EXIT_FAILURE)
  t.match(badEnv.err, 'PARLEY_AUTH_SECRET: got a 5-character value')
})

t.test('prints help and exits 0 when asked for it', async (t) => {
  const result = await parley(['token', '--help'])

  t.equal(result.code, 0)
  t.match(result.out, '--role <role>')
  t.match(result.out, '--expires-in <seconds>')
})
