export * from './customer'
