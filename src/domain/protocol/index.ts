export * from './frames'
export * from './push-frames'
