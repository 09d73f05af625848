import t from 'tap'
import { createEsdbEventStore } from '../../../src/infra/eventstore/esdb/esdb-event-store'
import { type EsdbDouble, startEsdbDouble } from '../../support/esdb-double/double'
import { type StoreFactory, runEventStoreConformance } from './conformance'

/** Set to run the suite against a real server too, e.g. `esdb://localhost:2113?tls=false`. */
const REAL_SERVER_URL = process.env.PARLEY_TEST_EVENTSTORE_URL

// Each fixture gets a double of its own, so its log starts empty; reopening connects a new
// client to the same double, which keeps what was committed, as a server does.
const onDouble =
  (batchAppend: boolean): StoreFactory =>
  () => {
    let double: Promise<EsdbDouble> | undefined
    return {
      open: async () => {
        double ??= startEsdbDouble({ batchAppend })
        return createEsdbEventStore({ connectionString: (await double).url })
      },
      cleanup: async () => (await double)?.close(),
      durable: true,
      globalEventIds: false,
    }
  }

async function main(): Promise<void> {
  await runEventStoreConformance(t, 'EventStoreDB store, Append path (double)', onDouble(false))
  // The client appends with BatchAppend on every server that offers it, as real ones do.
  await runEventStoreConformance(t, 'EventStoreDB store, BatchAppend path (double)', onDouble(true))

  // The suite's shared-log mode, the one a real server gets, checked here on one double that
  // every test of the run writes to, so a real-server run cannot fail on the suite itself.
  const shared = startEsdbDouble({ batchAppend: true })
  t.teardown(async () => (await shared).close())
  await runEventStoreConformance(t, 'EventStoreDB store, shared log (double)', () => ({
    open: async () => createEsdbEventStore({ connectionString: (await shared).url }),
    cleanup: () => {},
    durable: true,
    ownLog: false,
    globalEventIds: false,
  }))

  if (REAL_SERVER_URL === undefined) {
    t.comment('real EventStoreDB conformance NOT RUN: set PARLEY_TEST_EVENTSTORE_URL to run it')
    return
  }
  // A real server is shared: its log holds system events and earlier runs, so the suite reads
  // after the head it finds and looks at its own streams.
  await runEventStoreConformance(t, 'EventStoreDB store on a real server', () => ({
    open: async () => createEsdbEventStore({ connectionString: REAL_SERVER_URL }),
    cleanup: () => {},
    durable: true,
    ownLog: false,
    globalEventIds: false,
  }))
}

void main()
