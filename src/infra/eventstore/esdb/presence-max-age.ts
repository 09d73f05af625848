import { StreamCategory, categoryOf } from '../../../domain/shared/streams'
import type { EsdbSession } from './session'

/** Default age after which the server may scavenge presence events: 24 h, in seconds. */
export const DEFAULT_PRESENCE_MAX_AGE_SECONDS = 24 * 60 * 60
/** Most presence streams whose metadata this process remembers as set: 100 000. */
const MAX_REMEMBERED_STREAMS = 100_000

/**
 * Gives each presence stream a `$maxAge`, so heartbeats do not grow the log without bound: the
 * server's scavenge removes what is older (this adapter has no `prune`). Set once per stream, on
 * the append that creates it; a stream first written by this process when it already existed is
 * checked once and fixed if its metadata lacks the age (a writer that crashed between its first
 * append and the metadata, or a stream older than this adapter). A failure is logged and tried
 * again on the next append: it never fails the append, which is already committed.
 */
export function createPresenceMaxAge(session: EsdbSession, maxAgeSeconds: number) {
  const done = new Set<string>()

  const write = async (streamName: string): Promise<void> => {
    await session.client.setStreamMetadata(streamName, { maxAge: maxAgeSeconds })
    session.log.debug({ stream: streamName, maxAgeSeconds }, 'presence stream max age set')
  }

  return {
    /** Called after each successful append; `created`: the append wrote revision 0. */
    async afterAppend(streamName: string, created: boolean): Promise<void> {
      if (categoryOf(streamName) !== StreamCategory.Presence || done.has(streamName)) return
      try {
        if (created) await write(streamName)
        else {
          const { metadata } = await session.client.getStreamMetadata(streamName)
          if (metadata?.maxAge !== maxAgeSeconds) await write(streamName)
        }
        if (done.size >= MAX_REMEMBERED_STREAMS) done.clear()
        done.add(streamName)
      } catch (err) {
        session.log.warn({ err, stream: streamName }, 'presence stream max age not set')
      }
    },
  }
}
