export * from './dispatcher'
