import type { Logger } from '../../../src/infra/logging/logger'
import {
  type EsdbEventStoreOptions,
  createEsdbEventStore,
} from '../../../src/infra/eventstore/esdb/esdb-event-store'
import type { EventStore } from '../../../src/infra/eventstore/port'
import {
  type EsdbDouble,
  type EsdbDoubleOptions,
  startEsdbDouble,
} from '../../support/esdb-double/double'

/** A double of its own and a store on it, both closed in teardown; `open` adds more stores. */
export async function givenEsdb(
  t: tap.Test,
  options: Omit<EsdbEventStoreOptions, 'connectionString'> = {},
  doubleOptions: EsdbDoubleOptions = {},
): Promise<{ double: EsdbDouble; store: EventStore; open(): EventStore }> {
  const double = await startEsdbDouble(doubleOptions)
  const stores: EventStore[] = []
  t.teardown(async () => {
    for (const store of stores) await store.close()
    await double.close()
  })
  const open = (): EventStore => {
    const store = createEsdbEventStore({ connectionString: double.url, ...options })
    stores.push(store)
    return store
  }
  return { double, store: open(), open }
}

/** A logger that keeps every call, to check what the adapter said and at which level. */
export function recordingLogger(): { logger: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = []
  const at =
    (level: string) =>
    (_fields: Record<string, unknown>, msg: string): void => {
      lines.push({ level, msg })
    }
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  }
  return { logger, lines }
}
