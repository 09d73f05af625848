import { MongoClient } from 'mongodb'
import t, { type Test } from 'tap'
import { spawnMongoDouble, startMongoDouble } from './mongo-double'

/** The test double itself, through the real driver: what the adapter's tests rely on. */

async function givenClient(t: Test, url: string) {
  const client = new MongoClient(url)
  t.teardown(() => client.close())
  return client.db('double_test')
}

t.test('an upsert with $setOnInsert keeps a matched document as it is', async (t) => {
  const double = await startMongoDouble()
  t.teardown(() => double.close())
  const db = await givenClient(t, double.url)
  const aliases = db.collection<{ _id: string; physical: string }>('aliases')

  await aliases.updateOne({ _id: 'a' }, { $setOnInsert: { physical: 'x' } }, { upsert: true })
  await aliases.updateOne({ _id: 'a' }, { $setOnInsert: { physical: 'y' } }, { upsert: true })

  t.same(await aliases.find().toArray(), [{ _id: 'a', physical: 'x' }])
})

t.test('a transaction is invisible until it commits and rolls back on abort', async (t) => {
  const double = await startMongoDouble()
  t.teardown(() => double.close())
  const db = await givenClient(t, double.url)
  const docs = db.collection<{ _id: string; n: number }>('docs')
  await docs.insertOne({ _id: 'a', n: 1 })
  const session = db.client.startSession()
  t.teardown(() => session.endSession())

  session.startTransaction()
  await docs.updateOne({ _id: 'a' }, { $inc: { n: 1 } }, { session })
  const during = await docs.findOne({ _id: 'a' })
  await session.abortTransaction()
  session.startTransaction()
  await docs.insertOne({ _id: 'b', n: 5 }, { session })
  await session.commitTransaction()

  t.same(during, { _id: 'a', n: 1 }, 'not seen outside before the commit')
  t.same(await docs.find().toArray(), [
    { _id: 'a', n: 1 },
    { _id: 'b', n: 5 },
  ])
})

t.test('runs as a process of its own that prints its URL and stops on SIGTERM', async (t) => {
  const double = await spawnMongoDouble()
  t.teardown(() => double.close())
  const db = await givenClient(t, double.url)

  await db.collection('docs').insertMany(Array.from({ length: 250 }, (_, n) => ({ n })))
  const all = await db.collection('docs').find({}, { batchSize: 100 }).toArray()

  t.equal(all.length, 250, 'read back across getMore batches')
  t.match(double.url, /^mongodb:\/\/127\.0\.0\.1:\d+\/\?directConnection=true$/)
  await double.close()
  t.ok(double.pid > 0)
})
