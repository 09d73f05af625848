export * from './delivery-manager'
export * from './frame-cache'
export * from './pending-mirror'
export * from './push-channel'
