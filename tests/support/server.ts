import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTokenSigner } from '../../src/infra/auth/tokens'
import { loadConfig, type Config } from '../../src/infra/config/config'
import { createParley, type Parley, type ParleyOverrides } from '../../src/server'

/** A fixed secret for tests, long enough for the verifier. */
export const TEST_SECRET = 'test-secret-0123456789abcdefghijklmnopqrstuvwxyz'

export interface TestServer {
  parley: Parley
  config: Config
  dataDir: string
  /** ws://127.0.0.1:<port> */
  wsUrl: string
  httpUrl: string
  token(role: 'user' | 'agent' | 'admin', id: string, seats?: number): string
  close(): Promise<void>
}

/**
 * Starts a real Parley on 127.0.0.1 with an ephemeral port and a fresh data directory (or the
 * given one, to test restarts). `env` overrides configuration as the environment would.
 */
export async function startTestServer(
  options: { env?: Record<string, string>; dataDir?: string; overrides?: ParleyOverrides } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'parley-test-'))
  const config = loadConfig({
    PARLEY_DATA_DIR: dataDir,
    PARLEY_AUTH_SECRET: TEST_SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    ...options.env,
  })
  const parley = await createParley(config, options.overrides)
  await parley.app.listen({ port: 0, host: '127.0.0.1' })
  const address = parley.app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const signer = createTokenSigner(TEST_SECRET)

  return {
    parley,
    config,
    dataDir,
    wsUrl: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    token: (role, id, seats) => signer.sign({ role, id, ...(seats !== undefined && { seats }) }),
    async close() {
      await parley.close()
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A unique id per call, so each test has its own users, agents and conversations. */
let counter = 0
export function uniqueId(prefix: string): string {
  counter += 1
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`
}
