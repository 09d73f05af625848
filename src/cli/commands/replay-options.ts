import { InvalidArgumentError } from 'commander'
import { StreamCategory, conversationStream } from '../../domain/shared/streams'

/** The output formats of `parley replay`. */
export const ReplayFormat = { Ndjson: 'ndjson', Csv: 'csv' } as const
export type ReplayFormat = (typeof ReplayFormat)[keyof typeof ReplayFormat]

/** One value of `--from` or `--to`: a global position, or an instant compared to `recordedAt`. */
export type Bound =
  { kind: 'position'; position: bigint; raw: string } | { kind: 'time'; ms: number; raw: string }

/** The command line of `parley replay` as commander parses it. */
export interface ReplayOptions {
  format: ReplayFormat
  out?: string
  append?: boolean
  stream?: string[]
  conversation?: string[]
  category?: string[]
  type?: string[]
  from?: Bound[]
  to?: Bound[]
  dataDir?: string
  progress: boolean
}

/**
 * Which events a replay or report reads. Positions follow the store's `after`: `afterPosition`
 * is exclusive and `toPosition` inclusive, so a resume from the last position read repeats
 * nothing. Times form a half-open window on `recordedAt`: `fromTime` inclusive, `toTime` not.
 */
export interface EventFilter {
  streams?: string[]
  categories?: string[]
  types?: string[]
  afterPosition?: bigint
  toPosition?: bigint
  fromTime?: number
  toTime?: number
}

// A date, or a date and time with an explicit zone: a bare local time would read differently on
// the analyst's laptop and on the server.
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/

/** Parses a position (digits) or an ISO 8601 date or date-time with a zone (a date is UTC). */
export function parseBound(raw: string): Bound {
  const value = raw.trim()
  if (/^\d+$/.test(value)) return { kind: 'position', position: BigInt(value), raw: value }

  const ms = INSTANT.test(value) ? Date.parse(value) : NaN
  if (Number.isFinite(ms)) return { kind: 'time', ms, raw: value }

  throw new InvalidArgumentError(
    'expected a position (digits) or an ISO time such as 2025-01-31 or 2025-01-31T08:00:00Z',
  )
}

/** Commander parser for a repeatable bound: at most one position and one time. */
export function collectBound(raw: string, previous: Bound[] = []): Bound[] {
  const bound = parseBound(raw)
  if (previous.some((b) => b.kind === bound.kind)) {
    throw new InvalidArgumentError(`give at most one ${bound.kind} (and one of the other kind)`)
  }
  return [...previous, bound]
}

/** Commander parser for a repeatable option that also takes comma-separated lists. */
export function collectList(raw: string, previous: string[] = []): string[] {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
  if (items.length === 0) throw new InvalidArgumentError('expected at least one value')
  return [...previous, ...items]
}

const CATEGORIES: readonly string[] = Object.values(StreamCategory)

/** Like `collectList`, for stream categories. */
export function collectCategories(raw: string, previous: string[] = []): string[] {
  const items = collectList(raw, [])
  const unknown = items.find((item) => !CATEGORIES.includes(item))
  if (unknown !== undefined) {
    throw new InvalidArgumentError(`unknown category ${unknown}: expected ${CATEGORIES.join(', ')}`)
  }
  return [...previous, ...items]
}

/** The filter a command line asks for. */
export function filterOf(options: Pick<ReplayOptions, FilterFlag>): EventFilter {
  const streams = [
    ...(options.stream ?? []),
    ...(options.conversation ?? []).map(conversationStream),
  ]
  const position = (bounds?: Bound[]) => bounds?.find((b) => b.kind === 'position')?.position
  const time = (bounds?: Bound[]) => bounds?.find((b) => b.kind === 'time')?.ms
  return {
    streams: streams.length > 0 ? [...new Set(streams)] : undefined,
    categories: options.category && [...new Set(options.category)],
    types: options.type && [...new Set(options.type)],
    afterPosition: position(options.from),
    toPosition: position(options.to),
    fromTime: time(options.from),
    toTime: time(options.to),
  }
}

type FilterFlag = 'stream' | 'conversation' | 'category' | 'type' | 'from' | 'to'

/**
 * The arguments that resume an interrupted replay after `position`: the same options, with the
 * position `--from` moved to it, and `--append` so a resumed `--out` file is continued.
 */
export function resumeArguments(options: ReplayOptions, position: bigint): string[] {
  const args = ['replay']
  if (options.format !== ReplayFormat.Ndjson) args.push('--format', options.format)
  for (const stream of options.stream ?? []) args.push('--stream', stream)
  for (const id of options.conversation ?? []) args.push('--conversation', id)
  if (options.category) args.push('--category', options.category.join(','))
  for (const type of options.type ?? []) args.push('--type', type)
  for (const bound of options.from ?? []) if (bound.kind === 'time') args.push('--from', bound.raw)
  args.push('--from', String(position))
  for (const bound of options.to ?? []) args.push('--to', bound.raw)
  if (options.out !== undefined) args.push('--out', options.out, '--append')
  if (options.dataDir !== undefined) args.push('--data-dir', options.dataDir)
  if (!options.progress) args.push('--no-progress')
  return args
}

/** Quotes an argument for a POSIX shell, only when it needs it. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}
