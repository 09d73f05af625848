export * from './secret'
export * from './tokens'
