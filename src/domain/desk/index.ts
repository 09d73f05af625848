export * from './desk'
