export * from './command-handler'
export * from './conversation-commands'
export * from './desk-commands'
export * from './keyed-queue'
