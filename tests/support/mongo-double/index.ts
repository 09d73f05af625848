export { startMongoDouble, type MongoDouble } from './server'
export { spawnMongoDouble, type SpawnedMongoDouble, DEFAULT_DOUBLE_READY_MS } from './spawn'
