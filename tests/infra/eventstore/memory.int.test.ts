import t from 'tap'
import { createInMemoryEventStore } from '../../../src/infra/eventstore/memory'
import { runEventStoreConformance } from './conformance'

// A memory store forgets on close, so each `open` is a new, empty store.
void runEventStoreConformance(t, 'in-memory event store', () => ({
  open: async () => createInMemoryEventStore(),
  cleanup: () => {},
  durable: false,
  densePositions: true,
}))
