import { join } from 'node:path'
import { loadConfig } from '../../src/infra/config/config'
import { createSqliteEventStore } from '../../src/infra/eventstore/sqlite'
import { createLogger } from '../../src/infra/logging/logger'
import { createParley, EVENTS_FILE } from '../../src/server'
import { announceReady, serveRpc } from '../support/rpc'

/**
 * Parley as the bench runs it: the real composition root (createParley) on 127.0.0.1 in a child
 * process, configured from the environment the bench passes, plus an IPC hook that reports this
 * process's CPU and memory and the event store's group commits. Nothing in src/ is changed: the
 * event store is the production adapter, built here only to attach its `onCommit` counter.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env)
  const logger = createLogger({ level: config.logLevel })
  const commits = { transactions: 0, appends: 0, events: 0 }
  const events = createSqliteEventStore({
    path: join(config.dataDir, EVENTS_FILE),
    logger,
    onCommit: (batch) => {
      commits.transactions += 1
      commits.appends += batch.appends
      commits.events += batch.events
    },
  })
  const parley = await createParley(config, { events, logger })
  await parley.app.listen({ port: 0, host: '127.0.0.1' })
  const address = parley.app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0

  serveRpc(
    {
      stats: () => ({ ...commits, connections: parley.services.registry.size }),
    },
    () => parley.close(),
  )
  announceReady({ port })
}

main().catch((err: unknown) => {
  process.stderr.write(`parley bench server: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
