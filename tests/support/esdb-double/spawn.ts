import { resolve } from 'node:path'
import { spawnDouble, type SpawnedDouble } from '../spawn-double'

export { DEFAULT_DOUBLE_READY_MS } from '../spawn-double'

/** The EventStoreDB double in a child process (./main.ts). */
export type SpawnedEsdbDouble = SpawnedDouble

/** Starts tests/support/esdb-double/main.ts; resolves with its URL once it serves. */
export function spawnEsdbDouble(
  options: { readyTimeoutMs?: number } = {},
): Promise<SpawnedEsdbDouble> {
  return spawnDouble({
    name: 'esdb double',
    entry: resolve(__dirname, 'main.ts'),
    ready: /esdb-double listening (\S+)/,
    readyTimeoutMs: options.readyTimeoutMs,
  })
}
