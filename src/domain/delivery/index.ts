export * from './backoff'
