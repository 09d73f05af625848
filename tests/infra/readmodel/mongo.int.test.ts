import t from 'tap'
import { startMongoDouble, type MongoDouble } from '../../support/mongo-double'
import { readModelConformance } from './conformance'
import { mongoBehaviour } from './mongo-behaviour'
import { mongoBackend, REAL_MONGODB_URL } from './mongo-space'

let double: MongoDouble | undefined
t.before(async () => {
  double = await startMongoDouble()
})
t.teardown(() => double?.close())
const doubleUrl = (): string => {
  if (double === undefined) throw new Error('the MongoDB double did not start')
  return double.url
}

t.test('on the wire-protocol double', async (t) => {
  readModelConformance(t, mongoBackend(doubleUrl))
  mongoBehaviour(t, doubleUrl)
})

t.test('on a real server (PARLEY_TEST_MONGODB_URL)', async (t) => {
  const url = REAL_MONGODB_URL
  if (url === undefined) {
    t.comment('PARLEY_TEST_MONGODB_URL is not set: the suite did NOT run against a real server')
    return
  }
  readModelConformance(
    t,
    mongoBackend(() => url),
  )
  mongoBehaviour(t, () => url)
})
