import { DEFAULT_ACK_MAX_ATTEMPTS, DEFAULT_ACK_TIMEOUT_MS } from '../../domain/delivery/backoff'
import { DEFAULT_AGENT_SEATS } from '../../domain/desk/desk'
import {
  DEFAULT_LEAVE_AFTER_MS,
  DEFAULT_OFFLINE_AFTER_MS,
  DEFAULT_PRESENCE_TICK_MS,
} from '../../domain/presence/thresholds'
import { ParleyError } from '../../domain/shared/errors'
import { DEFAULT_LOG_LEVEL, LogLevel, isLogLevel } from '../logging/logger'

/** Default listening port (PORT). `0` asks the OS for a free one, which tests use. */
export const DEFAULT_PORT = 8080
/** Default bind address (HOST): every interface, as a server in a container needs. */
export const DEFAULT_HOST = '0.0.0.0'
/** Default directory for the embedded store and the generated secret (PARLEY_DATA_DIR). */
export const DEFAULT_DATA_DIR = './data'
/** Default largest inbound WebSocket frame in bytes (PARLEY_MAX_FRAME_BYTES): 64 KiB. */
export const DEFAULT_MAX_FRAME_BYTES = 65_536
/** Default sustained frames per second per connection (PARLEY_RATE_LIMIT): 20. */
export const DEFAULT_RATE_LIMIT_PER_SECOND = 20
/** Default burst of frames a connection may send above its rate (PARLEY_RATE_LIMIT): 40. */
export const DEFAULT_RATE_LIMIT_BURST = 40
/** Default snowflake worker id of this node (PARLEY_NODE_ID): 0. */
export const DEFAULT_NODE_ID = 0
/** Default MongoDB database name (PARLEY_MONGODB_DB). */
export const DEFAULT_MONGODB_DB = 'parley'

/** Shortest accepted PARLEY_AUTH_SECRET: 32 characters, 256 bits for HS256 if random. */
export const MIN_AUTH_SECRET_LENGTH = 32
/** Largest snowflake worker id: ids keep 10 bits for the node. */
export const MAX_NODE_ID = 1023
/** Most seats an agent may have, here and in a token's `seats` claim. */
export const MAX_AGENT_SEATS = 1000
// Node's timers overflow above this and fire at once instead.
const MAX_TIMER_MS = 2_147_483_647

export interface RateLimit {
  perSecond: number
  burst: number
}

export interface Config {
  port: number
  host: string
  dataDir: string
  /** Unset: the server reads or generates `<dataDir>/auth-secret`. */
  authSecret?: string
  ackTimeoutMs: number
  ackMaxAttempts: number
  agentSeats: number
  maxFrameBytes: number
  rateLimit: RateLimit
  nodeId: number
  logLevel: LogLevel
  offlineAfterMs: number
  leaveAfterMs: number
  presenceTickMs: number
  /** Unset: events go to the embedded store in the data directory. */
  eventStoreUrl?: string
  /** Unset: read models stay in the embedded store. */
  mongodbUrl?: string
  mongodbDb: string
}

/** Code of a configuration that cannot start the server; internal, never sent to a client. */
export const CONFIG_INVALID = 'config_invalid' as const

/** Every problem found in the environment, one line each, so a deploy is fixed in one go. */
export class ConfigError extends ParleyError {
  readonly problems: string[]

  constructor(problems: string[]) {
    super(CONFIG_INVALID, `invalid configuration:\n  ${problems.join('\n  ')}`, { problems })
    this.problems = problems
  }
}

type Env = Record<string, string | undefined>

/** A connection string with its user and password (if any) replaced by `***`, for messages. */
export const maskCredentials = (url: string): string => url.replace(/\/\/[^/@]*@/, '//***@')

/**
 * Reads Parley's settings from the environment. An empty variable counts as unset. Throws a
 * ConfigError listing every bad variable, its value and what was expected.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = []
  const read = new EnvReader(env, problems)

  const config: Config = {
    port: read.integer('PORT', DEFAULT_PORT, 0, 65_535),
    host: read.string('HOST') ?? DEFAULT_HOST,
    dataDir: read.string('PARLEY_DATA_DIR') ?? DEFAULT_DATA_DIR,
    authSecret: read.secret('PARLEY_AUTH_SECRET', MIN_AUTH_SECRET_LENGTH),
    ackTimeoutMs: read.ms('PARLEY_ACK_TIMEOUT_MS', DEFAULT_ACK_TIMEOUT_MS),
    ackMaxAttempts: read.integer('PARLEY_ACK_MAX_ATTEMPTS', DEFAULT_ACK_MAX_ATTEMPTS, 1, 1000),
    agentSeats: read.integer('PARLEY_AGENT_SEATS', DEFAULT_AGENT_SEATS, 1, MAX_AGENT_SEATS),
    maxFrameBytes: read.integer('PARLEY_MAX_FRAME_BYTES', DEFAULT_MAX_FRAME_BYTES, 1024, 2 ** 24),
    rateLimit: read.rateLimit('PARLEY_RATE_LIMIT'),
    nodeId: read.integer('PARLEY_NODE_ID', DEFAULT_NODE_ID, 0, MAX_NODE_ID),
    logLevel: read.logLevel('PARLEY_LOG_LEVEL'),
    offlineAfterMs: read.ms('PARLEY_OFFLINE_AFTER_MS', DEFAULT_OFFLINE_AFTER_MS),
    leaveAfterMs: read.ms('PARLEY_LEAVE_AFTER_MS', DEFAULT_LEAVE_AFTER_MS),
    presenceTickMs: read.ms('PARLEY_PRESENCE_TICK_MS', DEFAULT_PRESENCE_TICK_MS),
    eventStoreUrl: read.url('PARLEY_EVENTSTORE_URL', ['esdb:', 'esdb+discover:']),
    mongodbUrl: read.url('PARLEY_MONGODB_URL', ['mongodb:', 'mongodb+srv:']),
    mongodbDb: read.mongoDbName('PARLEY_MONGODB_DB') ?? DEFAULT_MONGODB_DB,
  }

  if (config.leaveAfterMs <= config.offlineAfterMs) {
    problems.push(
      `PARLEY_LEAVE_AFTER_MS: got ${config.leaveAfterMs}, expected more than ` +
        `PARLEY_OFFLINE_AFTER_MS (${config.offlineAfterMs}): a person goes offline before leaving`,
    )
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

/** One parser per kind of value; each records a problem and returns the default on failure. */
class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  string(name: string): string | undefined {
    const value = this.env[name]?.trim()
    return value === '' ? undefined : value
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name)
    if (raw === undefined) return fallback

    const value = /^\d+$/.test(raw) ? Number(raw) : NaN
    if (value >= min && value <= max) return value

    this.problem(name, raw, `an integer from ${min} to ${max}`)
    return fallback
  }

  /** A positive duration in milliseconds that a Node timer can wait for. */
  ms(name: string, fallback: number): number {
    return this.integer(name, fallback, 1, MAX_TIMER_MS)
  }

  /** Format `<rate>/s` or `<rate>/s,burst=<burst>`; the burst defaults to twice the rate. */
  rateLimit(name: string): RateLimit {
    const fallback = { perSecond: DEFAULT_RATE_LIMIT_PER_SECOND, burst: DEFAULT_RATE_LIMIT_BURST }
    const raw = this.string(name)
    if (raw === undefined) return fallback

    const match = /^(\d+)\s*\/\s*s(?:\s*,\s*burst\s*=\s*(\d+))?$/.exec(raw)
    const perSecond = Number(match?.[1])
    const burst = match?.[2] === undefined ? perSecond * 2 : Number(match[2])
    if (perSecond >= 1 && perSecond <= 10_000 && burst >= perSecond && burst <= 100_000) {
      return { perSecond, burst }
    }

    this.problem(name, raw, '"<rate>/s" or "<rate>/s,burst=<burst>" with 1 <= rate <= burst')
    return fallback
  }

  logLevel(name: string): LogLevel {
    const raw = this.string(name)
    if (raw === undefined) return DEFAULT_LOG_LEVEL
    if (isLogLevel(raw)) return raw

    this.problem(name, raw, `one of ${Object.values(LogLevel).join(', ')}`)
    return DEFAULT_LOG_LEVEL
  }

  /** The value is never echoed back: only its length is. */
  secret(name: string, minLength: number): string | undefined {
    const raw = this.string(name)
    if (raw === undefined || raw.length >= minLength) return raw

    this.problems.push(
      `${name}: got a ${raw.length}-character value, expected at least ${minLength} characters`,
    )
    return undefined
  }

  /** Credentials in a connection string are masked before it is echoed back. */
  url(name: string, protocols: string[]): string | undefined {
    const raw = this.string(name)
    if (raw === undefined) return undefined
    if (protocols.some((p) => raw.startsWith(`${p}//`) && raw.length > p.length + 2)) return raw

    this.problem(
      name,
      maskCredentials(raw),
      `a connection string starting with ${protocols.join('// or ')}//`,
    )
    return undefined
  }

  /** MongoDB refuses names longer than 63 bytes or holding any of `/\. "$*<>:|?`. */
  mongoDbName(name: string): string | undefined {
    const raw = this.string(name)
    if (raw === undefined || /^[^/\\. "$*<>:|?]{1,63}$/.test(raw)) return raw

    this.problem(name, raw, 'a MongoDB database name: 1 to 63 characters, none of /\\. "$*<>:|?')
    return undefined
  }

  private problem(name: string, raw: string, expected: string): void {
    this.problems.push(`${name}: got ${JSON.stringify(raw)}, expected ${expected}`)
  }
}
