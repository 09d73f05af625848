import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'

/** Sampling interval of in-process profiles: 1 ms, as node --cpu-prof's default. */
const SAMPLING_MICROS = 1000

/**
 * Runs `work` under the V8 sampling profiler of this very process and writes the profile as
 * `<dir>/<name>.cpuprofile` (the format node --cpu-prof writes). For the in-process scenarios,
 * where --cpu-prof would also record the log generation and the scans around the part of interest.
 */
export async function profileWhile<T>(
  dir: string,
  name: string,
  work: () => Promise<T>,
): Promise<T> {
  const session = new Session()
  session.connect()
  try {
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_MICROS })
    await session.post('Profiler.start')
    const result = await work()
    const { profile } = await session.post('Profiler.stop')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
    return result
  } finally {
    session.disconnect()
  }
}
