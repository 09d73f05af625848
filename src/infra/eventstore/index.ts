export type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  RecordedEvent,
} from './port'
export {
  EVENT_ID_CONFLICT,
  EventIdConflictError,
  STORE_CLOSED,
  StoreClosedError,
} from './append-rules'
export {
  DEFAULT_MEMORY_PAGE_SIZE,
  type InMemoryEventStoreOptions,
  createInMemoryEventStore,
} from './memory'
export {
  type CommitBatch,
  DEFAULT_SQLITE_PAGE_SIZE,
  type SqliteEventStoreOptions,
  createSqliteEventStore,
} from './sqlite'
export { DEFAULT_WRITER_MODE, WriterMode } from './sqlite-writer'
