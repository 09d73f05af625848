export * from './errors'
export * from './store'
export { MONGO_DEFAULT_ENTRIES_LIMIT } from './view'
export { POSITION_DIGITS } from './documents'
