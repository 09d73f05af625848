/**
 * TEST-ONLY entry: runs the EventStoreDB double as its own process, for end-to-end tests where
 * several Parley processes share one store. Prints `esdb-double listening <url>` on stdout once
 * it serves, and stops on SIGTERM or SIGINT. PORT picks the port (default: a free one);
 * ESDB_DOUBLE_BATCH_APPEND=1 offers BatchAppend, as a real server does.
 *
 *   node --import=@tapjs/typescript/import tests/support/esdb-double/main.ts
 */
import { startEsdbDouble } from './double'

async function main(): Promise<void> {
  const port = process.env.PORT ? Number(process.env.PORT) : 0
  const double = await startEsdbDouble({
    port,
    batchAppend: process.env.ESDB_DOUBLE_BATCH_APPEND === '1',
  })
  const stop = (): void => {
    void double.close().then(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  console.log(`esdb-double listening ${double.url}`)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
