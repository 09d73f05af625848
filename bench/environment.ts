import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { cpus, release, totalmem } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Latencies, type LatencySummary } from './support/histogram'
import { ROOT } from './support/child'

/** Packages whose versions the report names. */
export const REPORTED_PACKAGES = [
  'better-sqlite3',
  'ws',
  'fastify',
  '@fastify/websocket',
  'rxjs',
  'fast-jwt',
  'ajv',
  'pino',
  'typescript',
] as const

export interface Environment {
  node: string
  v8: string
  sqlite: string
  parley: string
  packages: Record<string, string>
  os: string
  cpuModel: string
  cores: number
  memoryGiB: number
  /** `fsync` of a small file in the bench's data directory, the cost under every durable append. */
  fsyncProbe: { count: number; fsyncsPerSecond: number; latency: LatencySummary; dir: string }
}

/** What the machine and the software are, with a short fsync probe of the data directory. */
export function describeEnvironment(dataDir: string, fsyncs: number): Environment {
  const db = new Database(':memory:')
  const sqlite = db.prepare('select sqlite_version() as v').pluck().get() as string
  db.close()
  const version = (name: string): string => {
    try {
      const manifest = readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')
      return (JSON.parse(manifest) as { version: string }).version
    } catch {
      return 'not installed'
    }
  }
  const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }

  return {
    node: process.versions.node,
    v8: process.versions.v8,
    sqlite,
    parley: own.version,
    packages: Object.fromEntries(REPORTED_PACKAGES.map((name) => [name, version(name)])),
    os: `${process.platform} ${release()}`,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    fsyncProbe: probeFsync(dataDir, fsyncs),
  }
}

/** Writes 512 bytes and fsyncs, `count` times, in a scratch file of `dir`. */
export function probeFsync(dir: string, count: number): Environment['fsyncProbe'] {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'fsync-probe')
  const fd = openSync(path, 'w')
  const block = Buffer.alloc(512, 1)
  const latency = new Latencies()
  const started = performance.now()
  try {
    for (let i = 0; i < count; i++) {
      const t = performance.now()
      writeSync(fd, block, 0, block.length, (i % 8) * block.length)
      fsyncSync(fd)
      latency.recordMs(performance.now() - t)
    }
  } finally {
    closeSync(fd)
    rmSync(path, { force: true })
  }
  const seconds = (performance.now() - started) / 1000
  return { count, fsyncsPerSecond: Math.round(count / seconds), latency: latency.summary(), dir }
}
