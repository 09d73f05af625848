import { randomBytes } from 'node:crypto'
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, MIN_AUTH_SECRET_LENGTH } from '../config/config'
import { silentLogger, type Logger } from '../logging/logger'

/** Name of the generated secret's file inside the data directory. */
export const AUTH_SECRET_FILE = 'auth-secret'
/** Random bytes in a generated secret: 48, so 64 base64url characters. */
export const GENERATED_SECRET_BYTES = 48

export interface ResolveAuthSecretOptions {
  /** PARLEY_AUTH_SECRET; when set it wins and no file is touched. */
  configured?: string
  dataDir: string
  /** Default `silentLogger`. */
  logger?: Logger
}

/**
 * The HS256 secret: the configured one, else `<dataDir>/auth-secret`, else a new random one
 * written there with mode 0600, so a fresh clone can mint tokens and serve without setup.
 */
export async function resolveAuthSecret(options: ResolveAuthSecretOptions): Promise<string> {
  const { configured, dataDir, logger = silentLogger } = options
  if (configured !== undefined) return configured

  const path = join(dataDir, AUTH_SECRET_FILE)
  const existing = await readSecretFile(path, logger)
  if (existing !== undefined) return existing

  const secret = randomBytes(GENERATED_SECRET_BYTES).toString('base64url')
  await mkdir(dataDir, { recursive: true })
  // Written aside and linked into place, so no reader ever sees a half-written file; the link
  // fails if another process got there first, and that process's secret is the one to use.
  const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(draft, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  try {
    await link(draft, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return (await readSecretFile(path, logger)) as string
  } finally {
    await unlink(draft)
  }

  const command = `parley token --role <user|agent|admin> --id <id> --data-dir ${dataDir}`
  logger.info({ path, command }, 'auth secret generated')
  return secret
}

async function readSecretFile(path: string, logger: Logger): Promise<string | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }

  const secret = text.trim()
  if (secret.length < MIN_AUTH_SECRET_LENGTH) {
    throw new ConfigError([
      `${path}: got a ${secret.length}-character secret, expected at least ${MIN_AUTH_SECRET_LENGTH}`,
    ])
  }

  const { mode } = await stat(path)
  if ((mode & 0o077) !== 0) {
    logger.warn({ path, mode: (mode & 0o777).toString(8) }, 'auth secret file readable by others')
  }
  return secret
}
