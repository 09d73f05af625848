/**
 * TEST-ONLY entry: runs the MongoDB double as a process of its own (see server.ts for what it
 * cannot mimic). Prints one line, `mongo-double listening <url>`, once it accepts connections,
 * and stops on SIGTERM or SIGINT. Spawned by `spawnMongoDouble` (spawn.ts).
 */
import { startMongoDouble } from './server'

/** The line the entry prints once listening, followed by the URL. */
export const LISTENING = 'mongo-double listening'

async function main(): Promise<void> {
  const double = await startMongoDouble()
  process.stdout.write(`${LISTENING} ${double.url}\n`)
  const stop = (): void => {
    void double.close().then(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`mongo-double failed to start: ${String(err)}\n`)
    process.exit(1)
  })
}
