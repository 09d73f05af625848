import pino from 'pino'

/** One call shape everywhere: a fields object first, then a short constant message. */
export type LogFn = (fields: Record<string, unknown>, msg: string) => void

/**
 * The logging port below the gateway; a pino or fastify logger satisfies it as is.
 *
 * Level policy, so one incident reads the same wherever it is logged:
 * - a client's mistake (bad frame, forbidden command, rejected token) is `info`;
 * - a fault of ours (a bug, a store that refuses a write) is `error`;
 * - a peer going away (socket closed, heartbeat lost) is `info`;
 * - an unexpected error on a stream or subscription that we recover from is `warn`;
 * - `debug` is for tracing a single flow and is off in production.
 * Tokens and message text are never logged at `info` or above: log ids, sizes and codes.
 */
export interface Logger {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  child(bindings: Record<string, unknown>): Logger
}

/** The levels a Parley logger accepts (PARLEY_LOG_LEVEL), quietest last. */
export const LogLevel = {
  Trace: 'trace',
  Debug: 'debug',
  Info: 'info',
  Warn: 'warn',
  Error: 'error',
  Fatal: 'fatal',
  Silent: 'silent',
} as const
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel]

export const isLogLevel = (value: string): value is LogLevel =>
  (Object.values(LogLevel) as string[]).includes(value)

/** Default level (PARLEY_LOG_LEVEL): info. */
export const DEFAULT_LOG_LEVEL: LogLevel = LogLevel.Info

/** Field paths whose values are replaced before a line is written, whatever its level. */
export const REDACTED_LOG_PATHS = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'authorization',
  'req.headers.authorization',
]

const noop: LogFn = () => {}

/** A logger that drops everything: the default for anything that takes an optional logger. */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
}

export interface LoggerOptions {
  /** Lowest level written; default `DEFAULT_LOG_LEVEL`. */
  level?: LogLevel
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream
}

/**
 * A pino logger writing JSON lines. The full pino type is returned so the same instance can be
 * handed to fastify as `loggerInstance`; everything else should take it as a `Logger`.
 */
export function createLogger(options: LoggerOptions = {}): pino.Logger {
  const pinoOptions: pino.LoggerOptions = {
    level: options.level ?? DEFAULT_LOG_LEVEL,
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
  }

  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions)
}
