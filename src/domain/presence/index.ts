export * from './events'
export * from './presence'
export * from './thresholds'
