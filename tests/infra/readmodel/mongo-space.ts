import { MongoClient, type Db } from 'mongodb'
import type { Test } from 'tap'
import type { ReadModelStore } from '../../../src/infra/readmodel/port'
import {
  createMongoReadModelStore,
  type MongoReadModelOptions,
} from '../../../src/infra/readmodel/mongo/store'
import type { ReadModelBackend } from './conformance'

/** One test's database: stores over it, and the driver's own view of it for assertions. */
export interface MongoSpace {
  open(options?: Partial<MongoReadModelOptions>): ReadModelStore
  db: Db
  dbName: string
}

let spaces = 0

/**
 * A fresh database of test `t` on the server at `url`, dropped in its teardown; each store
 * opened on it is another client, as another gateway node holds one.
 */
export async function mongoSpace(t: Test, url: string): Promise<MongoSpace> {
  const dbName = `parley_test_${process.pid.toString()}_${(++spaces).toString()}`
  const client = new MongoClient(url)
  const db = client.db(dbName)
  t.teardown(async () => {
    await db.dropDatabase().catch(() => undefined)
    await client.close()
  })
  return {
    db,
    dbName,
    open(options = {}) {
      const store = createMongoReadModelStore({ url, dbName, ...options })
      t.teardown(() => store.close())
      return store
    },
  }
}

/** The conformance suite's view of a MongoDB server. */
export const mongoBackend = (url: () => string): ReadModelBackend => ({
  async space(t) {
    const space = await mongoSpace(t, url())
    return () => space.open()
  },
})

/** A real server to run the suite against too, from `PARLEY_TEST_MONGODB_URL`. */
export const REAL_MONGODB_URL = process.env.PARLEY_TEST_MONGODB_URL
