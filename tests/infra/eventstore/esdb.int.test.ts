import t from 'tap'
import { createEsdbEventStore } from '../../../src/infra/eventstore/esdb/esdb-event-store'
import { type EsdbDouble, startEsdbDouble } from '../../support/esdb-double/double'
import { runEventStoreConformance } from './conformance'

/** Set to run the suite against a real server too, e.g. `esdb://localhost:2113?tls=false`. */
const REAL_SERVER_URL = process.env.PARLEY_TEST_EVENTSTORE_URL

// Each fixture gets a double of its own, so its log starts empty; reopening connects a new
// client to the same double, which keeps what was committed, as a server does.
void runEventStoreConformance(t, 'EventStoreDB event store on the protocol double', () => {
  let double: Promise<EsdbDouble> | undefined
  return {
    open: async () => {
      double ??= startEsdbDouble()
      return createEsdbEventStore({ connectionString: (await double).url })
    },
    cleanup: async () => (await double)?.close(),
    durable: true,
    globalEventIds: false,
  }
}).then(() => {
  if (REAL_SERVER_URL === undefined) {
    t.comment('real EventStoreDB conformance NOT RUN: set PARLEY_TEST_EVENTSTORE_URL to run it')
    return
  }
  // A real server is shared: its log holds system events and earlier runs, so the suite reads
  // after the head it finds and looks at its own streams.
  return runEventStoreConformance(t, 'EventStoreDB event store on a real server', () => ({
    open: async () => createEsdbEventStore({ connectionString: REAL_SERVER_URL }),
    cleanup: () => {},
    durable: true,
    ownLog: false,
    globalEventIds: false,
  }))
})
