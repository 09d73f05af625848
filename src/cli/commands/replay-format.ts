import { stringify } from 'csv-stringify/sync'
import type { RecordedEvent } from '../../infra/eventstore/port'
import { ReplayFormat } from './replay-options'

/** The CSV columns of `parley replay --format csv`, in order; also its header line. */
export const REPLAY_CSV_COLUMNS = [
  'position',
  'id',
  'streamName',
  'revision',
  'type',
  'recordedAt',
  'recordedAtMs',
  'data',
  'metadata',
] as const

/** Turns events into output text: a header (possibly empty), then one line per event. */
export interface EventFormatter {
  header(): string
  line(event: RecordedEvent): string
}

export function formatterFor(format: ReplayFormat): EventFormatter {
  return format === ReplayFormat.Csv ? csvFormatter() : ndjsonFormatter()
}

/**
 * One JSON object per line. Positions and revisions are strings, as the log's other 64-bit
 * numbers (snowflake ids) are: a JavaScript number cannot hold every one of them exactly.
 * `recordedAt` is an ISO string and `recordedAtMs` the same instant in ms since the epoch.
 */
function ndjsonFormatter(): EventFormatter {
  const iso = isoCache()
  return {
    header: () => '',
    // Written out by hand: one JSON.stringify per field keeps the key order fixed and avoids
    // building an intermediate object for each of millions of events.
    line: (e) =>
      `{"position":"${e.position}","id":${JSON.stringify(e.id)},` +
      `"streamName":${JSON.stringify(e.streamName)},"revision":"${e.revision}",` +
      `"type":${JSON.stringify(e.type)},"recordedAt":"${iso(e.recordedAt)}",` +
      `"recordedAtMs":${e.recordedAt},"data":${JSON.stringify(e.data)},` +
      `"metadata":${jsonObject(e.metadata)}}\n`,
  }
}

/** RFC 4180 CSV with a header row; `data` and `metadata` are JSON text in their cells. */
function csvFormatter(): EventFormatter {
  const iso = isoCache()
  return {
    header: () => stringify([REPLAY_CSV_COLUMNS]),
    line: (e) =>
      stringify([
        [
          String(e.position),
          e.id,
          e.streamName,
          String(e.revision),
          e.type,
          iso(e.recordedAt),
          String(e.recordedAt),
          JSON.stringify(e.data),
          jsonObject(e.metadata),
        ],
      ]),
  }
}

/** JSON of an object, with the usual empty metadata written without a call. */
function jsonObject(value: Record<string, unknown>): string {
  for (const _key in value) return JSON.stringify(value)
  return '{}'
}

/**
 * ISO strings of ms times. Formatting a Date costs about a microsecond, a million times over, so
 * the text up to the second is kept and only the milliseconds are appended to it.
 */
function isoCache(): (ms: number) => string {
  let second = NaN
  let prefix = ''
  return (ms) => {
    const s = Math.floor(ms / 1000)
    if (s !== second) {
      second = s
      prefix = new Date(s * 1000).toISOString().slice(0, 20)
    }
    const milli = ms - s * 1000
    return `${prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`
  }
}
