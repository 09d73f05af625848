import { createParley } from './server'
import { describeStores } from './infra/backends'
import { ConfigError, loadConfig, type Config } from './infra/config/config'
import { DataDirLockedError } from './infra/lock/data-dir-lock'
import { createLogger } from './infra/logging/logger'

/**
 * The server entry: configuration from the environment, the embedded stores in
 * PARLEY_DATA_DIR, listening on HOST:PORT until SIGINT or SIGTERM.
 */
export async function main(): Promise<void> {
  const config = configOrExit()
  if (!config) return

  const logger = createLogger({ level: config.logLevel })
  let parley
  try {
    parley = await createParley(config, { logger })
  } catch (err) {
    // Our own errors say what to change; anything else (a data directory that is a file, a
    // disk that refuses, a database server out of reach) is reported with the stores it concerns.
    const known = err instanceof ConfigError || err instanceof DataDirLockedError
    const message = err instanceof Error ? err.message : String(err)
    const stores = describeStores(config)
    process.stderr.write(
      known
        ? `parley: ${message}\n`
        : `parley: cannot open the stores (events: ${stores.events}, read models: ` +
            `${stores.readModels}): ${message}\n`,
    )
    process.exitCode = 1
    return
  }
  try {
    await parley.app.listen({ port: config.port, host: config.host })
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    process.stderr.write(
      `parley: cannot listen on HOST ${config.host} PORT ${config.port}: ${reason}\n`,
    )
    await parley.close()
    process.exitCode = 1
    return
  }
  // The bound port, which differs from the configured one when PORT=0.
  const address = parley.app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  logger.info({ port, host: config.host, ...describeStores(config) }, 'parley serving')

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    parley.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

/** The configuration, or undefined after printing what is wrong (exit code 1). */
function configOrExit(): Config | undefined {
  try {
    return loadConfig(process.env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`parley: ${err.message}\n`)
    process.exitCode = 1
    return undefined
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `parley: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`,
    )
    process.exit(1)
  })
}
