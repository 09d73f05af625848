export {
  DOUBLE_SERVER_VERSION,
  type EsdbDouble,
  type EsdbDoubleOptions,
  startEsdbDouble,
} from './double'
export { FIRST_POSITION, type StoredEvent } from './log'
export type { DropMode, SentEvent } from './streams-service'
export { DEFAULT_DOUBLE_READY_MS, type SpawnedEsdbDouble, spawnEsdbDouble } from './spawn'
