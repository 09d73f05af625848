export * from './port'
export * from './sqlite'
export * from './mongo'
