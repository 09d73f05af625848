export { DOUBLE_SERVER_VERSION, type EsdbDouble, startEsdbDouble } from './double'
export { FIRST_POSITION, type StoredEvent } from './log'
export type { DropMode, SentEvent } from './streams-service'
