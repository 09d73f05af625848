import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import t from 'tap'
import { TEST_SECRET, makeDataDir } from '../support/server'
import { childEnv } from '../support/spawn-double'

// A server whose stores cannot be opened must say so and exit, not hang without serving: a
// supervisor only restarts a node it sees fail.
t.setTimeout(120_000)

const ENTRY = resolve(__dirname, '..', '..', 'src', 'main.ts')

/** A port where nothing listens: bound, noted and released. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  await new Promise((done) => server.close(done))
  return typeof address === 'object' && address ? address.port : 0
}

/** Runs src/main.ts to its exit; fails the test if it has not exited after `limitMs`. */
function runServer(env: Record<string, string>, limitMs: number) {
  const child = spawn(process.execPath, ['--import=@tapjs/typescript/import', ENTRY], {
    env: { ...childEnv(), HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return new Promise<{ code: number | null; output: string }>((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      fail(new Error(`still running after ${limitMs} ms:\n${output}`))
    }, limitMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      done({ code, output })
    })
  })
}

t.test('exits with a message naming the store when MongoDB is out of reach', async (t) => {
  const port = await deadPort()
  const dataDir = makeDataDir()
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  // A short server selection keeps the test fast; the driver's default waits 30 s.
  const url = `mongodb://127.0.0.1:${port}/?directConnection=true&serverSelectionTimeoutMS=500`

  const result = await runServer(
    { PARLEY_DATA_DIR: dataDir, PARLEY_AUTH_SECRET: TEST_SECRET, PARLEY_MONGODB_URL: url },
    60_000,
  )

  t.equal(result.code, 1, 'exit code 1')
  t.match(result.output, `cannot open the stores`)
  t.match(result.output, `read models: mongodb://127.0.0.1:${port}/`)
})

t.test('exits with a message naming the store when EventStoreDB is out of reach', async (t) => {
  const port = await deadPort()
  const dataDir = makeDataDir()
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const url = `esdb://127.0.0.1:${port}?tls=false`

  const result = await runServer(
    { PARLEY_DATA_DIR: dataDir, PARLEY_AUTH_SECRET: TEST_SECRET, PARLEY_EVENTSTORE_URL: url },
    60_000,
  )

  t.equal(result.code, 1, 'exit code 1')
  t.match(result.output, `events: esdb://127.0.0.1:${port}`)
})
