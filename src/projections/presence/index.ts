export * from './presence-monitor'
export * from './agent-availability'
