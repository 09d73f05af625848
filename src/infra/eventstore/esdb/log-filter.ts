import { streamNameFilter, type Filter } from '@eventstore/db-client'
import { categoryOf } from '../../../domain/shared/streams'

/**
 * The server-side filter of Parley's reads and subscriptions of $all. A stream-name regex rather
 * than prefixes: a category is the text before the first dash, so `presence` must match the
 * stream `presence` and `presence-user-1` but not `presences-1`, which no prefix list says.
 * System streams (`$...`, metadata streams `$$...` included) never pass.
 */
export interface LogFilter {
  filter: Filter
  /** The same test on this side, for the tail scans that cannot be filtered on the server. */
  matches(streamName: string): boolean
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** What a filtered subscription does with the server's checkpoints (positions it scanned to). */
export interface CheckpointOptions {
  /** In units of the server's search window (default 32 events). */
  checkpointInterval: number
  checkpointReached(position: bigint): void
}

export function logFilter(
  categories?: readonly string[],
  checkpoints?: CheckpointOptions,
): LogFilter {
  const filterOf = (regex: string): Filter =>
    checkpoints === undefined
      ? streamNameFilter({ regex })
      : streamNameFilter({
          regex,
          checkpointInterval: checkpoints.checkpointInterval,
          checkpointReached: (_, position) => checkpoints.checkpointReached(position.commit),
        })
  if (categories === undefined) {
    return {
      filter: filterOf('^[^$]'),
      matches: (streamName) => !streamName.startsWith('$'),
    }
  }

  const wanted = [...new Set(categories)].filter((c) => c !== '' && !c.startsWith('$'))
  // `(?!)` matches nothing: an empty category list reads nothing, as on the other stores.
  const regex = wanted.length === 0 ? '(?!)' : `^(?:${wanted.map(escape).join('|')})(?:-|$)`
  const set = new Set(wanted)
  return {
    filter: filterOf(regex),
    matches: (streamName) => !streamName.startsWith('$') && set.has(categoryOf(streamName)),
  }
}
