import { resolve } from 'node:path'
import { spawnDouble, type SpawnedDouble } from '../spawn-double'
import { LISTENING } from './main'

export { DEFAULT_DOUBLE_READY_MS } from '../spawn-double'

/** A MongoDB double in a child process, for tests that run several Parley nodes against it. */
export interface SpawnedMongoDouble extends Omit<SpawnedDouble, 'stop'> {
  /** `mongodb://127.0.0.1:<port>/?directConnection=true`. */
  url: string
  /** SIGTERM; resolves once the process is gone. */
  close(): Promise<void>
}

/** Starts tests/support/mongo-double/main.ts; resolves with its URL once it listens. */
export async function spawnMongoDouble(readyTimeoutMs?: number): Promise<SpawnedMongoDouble> {
  const { stop, ...double } = await spawnDouble({
    name: 'mongo double',
    entry: resolve(__dirname, 'main.ts'),
    ready: new RegExp(`^${LISTENING} (\\S+)`, 'm'),
    readyTimeoutMs,
  })
  return { ...double, close: stop }
}
