import type { RecordedEvent } from './port'

/** Default full pages a store keeps per category filter for catch-up readers: 8. */
export const DEFAULT_SHARED_PAGES = 8
/** How long the pages stay after the last catch-up read, so none is held once all are live: 1 s. */
export const SHARED_PAGES_TTL_MS = 1_000

/**
 * The last full catch-up pages read per category filter, shared by the subscriptions that read
 * the same categories. At start, and in a rebuild, the runners of several read models catch up
 * over the same part of the log at about the same pace (three follow `conversation`, 85 % of a
 * busy log); without this each of them reads and decodes every page again. Only full pages are
 * kept: one that ends at the head would miss what commits after it. Events are shared as the
 * live feed shares them, so subscribers must treat them as read-only, as they already do.
 */
export interface PageCache {
  read(
    categories: readonly string[] | undefined,
    after: bigint,
    load: () => RecordedEvent[],
  ): RecordedEvent[]
}

export function createPageCache(
  pageSize: number,
  pagesPerFilter = DEFAULT_SHARED_PAGES,
): PageCache {
  const byFilter = new Map<string, Map<bigint, RecordedEvent[]>>()
  let expiry: NodeJS.Timeout | undefined
  const expire = (): void => {
    expiry = undefined
    byFilter.clear()
  }

  return {
    read(categories, after, load) {
      const key = categories === undefined ? '' : [...new Set(categories)].sort().join('\n')
      let pages = byFilter.get(key)
      const cached = pages?.get(after)
      if (cached !== undefined) return cached

      const page = load()
      if (page.length < pageSize || pagesPerFilter === 0) return page
      if (expiry === undefined) expiry = setTimeout(expire, SHARED_PAGES_TTL_MS).unref()
      else expiry.refresh()
      if (pages === undefined) byFilter.set(key, (pages = new Map()))
      pages.set(after, page)
      // Maps keep insertion order: the first key is the oldest page.
      if (pages.size > pagesPerFilter) pages.delete(pages.keys().next().value as bigint)
      return page
    },
  }
}
