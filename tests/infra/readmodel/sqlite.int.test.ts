import { join } from 'node:path'
import t from 'tap'
import { createSqliteReadModelStore } from '../../../src/infra/readmodel/sqlite'
import { readModelConformance } from './conformance'

// Each data space is a file of the test's own directory; every store opened on it is another
// connection, as the server and a rebuild process hold them.
readModelConformance(t, {
  async space(t) {
    const path = join(t.testdir(), 'read-models.sqlite')
    return () => {
      const store = createSqliteReadModelStore({ path })
      t.teardown(() => store.close())
      return store
    }
  },
})
