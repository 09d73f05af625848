import type { Writable } from 'node:stream'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { Role } from '../domain/shared/participant'
import { resolveAuthSecret } from '../infra/auth/secret'
import { DEFAULT_TOKEN_TTL_SEC, createTokenSigner } from '../infra/auth/tokens'
import { MAX_AGENT_SEATS, loadConfig } from '../infra/config/config'
import type { Logger } from '../infra/logging/logger'
import { registerRebuildCommand } from './commands/rebuild'
import { registerReplayCommand } from './commands/replay'
import { registerReportCommand } from './commands/report'
import { registerVerifyCommand } from './commands/verify'

/** Exit code of a command line that could not be understood. */
export const EXIT_USAGE = 2
/** Exit code of a command that was understood but failed. */
export const EXIT_FAILURE = 1

/** Where the CLI writes and what it reads; tests pass their own to run it in-process. */
export interface CliIo {
  out(text: string): void
  err(text: string): void
  env: Record<string, string | undefined>
  /** Standard output as a stream, for commands that stream with backpressure (replay). */
  stdout?: Writable
  /** Standard error as a stream; a progress bar is drawn on it when it is a terminal. */
  stderr?: Writable & { isTTY?: boolean; columns?: number }
  /** Stops a long command as Ctrl-C does; tests abort through it. */
  signal?: AbortSignal
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
}

// A reader that stops early (`parley replay | head`) closes the pipe: that ends the command
// quietly, as for any Unix tool, rather than as an unhandled EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

interface TokenOptions {
  role: Role
  id: string
  seats?: number
  expiresIn: number
  dataDir?: string
}

/**
 * Runs `parley <command>` with `argv` as in `process.argv` (node, script, then arguments) and
 * resolves to the exit code: 0, EXIT_FAILURE, or EXIT_USAGE when the command line is wrong.
 */
export async function run(argv: string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io)
  try {
    await program.parseAsync(argv, { from: 'node' })
    return 0
  } catch (err) {
    // Commander has already printed its own message, and exits 0 after --help.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE

    io.err(`parley: ${err instanceof Error ? err.message : String(err)}\n`)
    return EXIT_FAILURE
  }
}

function buildProgram(io: CliIo): Command {
  const program = new Command('parley')
    .description('Event-sourced customer-service instant messaging')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError()

  program
    .command('token')
    .description('print a signed access token for a user, an agent or an admin')
    .addOption(
      new Option('--role <role>', 'who the token is for')
        .choices(Object.values(Role))
        .makeOptionMandatory(),
    )
    .requiredOption('--id <id>', 'the participant id (the token subject)')
    .option('--seats <n>', `an agent's seats, 1 to ${MAX_AGENT_SEATS}`, intFrom(1, MAX_AGENT_SEATS))
    .option('--expires-in <seconds>', 'lifetime in seconds', intFrom(1), DEFAULT_TOKEN_TTL_SEC)
    .option('--data-dir <dir>', 'where the auth secret lives (default: PARLEY_DATA_DIR)')
    .action(async (options: TokenOptions, command: Command) => {
      if (options.seats !== undefined && options.role !== Role.Agent) {
        command.error('error: --seats is for --role agent only', { exitCode: EXIT_USAGE })
      }

      io.out(`${await mintToken(options, io)}\n`)
    })

  program
    .command('serve')
    .description('start the server, configured from PARLEY_* environment variables')
    .action(async () => {
      // The server entry is loaded only when asked for: `parley token` stays light, and this
      // file compiles whether or not src/main.ts exists yet.
      const entry = require('../main') as { main?: () => unknown }
      if (typeof entry.main !== 'function') throw new Error('the server entry exports no main()')

      await entry.main()
    })

  registerReplayCommand(program, io)
  registerReportCommand(program, io)
  registerRebuildCommand(program, io)
  registerVerifyCommand(program, io)

  return program
}

async function mintToken(options: TokenOptions, io: CliIo): Promise<string> {
  const config = loadConfig(io.env)
  const secret = await resolveAuthSecret({
    configured: config.authSecret,
    dataDir: options.dataDir ?? config.dataDir,
    logger: stderrLogger(io),
  })

  return createTokenSigner(secret).sign({
    role: options.role,
    id: options.id,
    seats: options.seats,
    expiresInSec: options.expiresIn,
  })
}

/** An option parser for whole numbers in a range; a bad value is a usage error. */
function intFrom(min: number, max?: number): (raw: string) => number {
  const expected = max === undefined ? `at least ${min}` : `from ${min} to ${max}`
  return (raw) => {
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN
    if (value >= min && value <= (max ?? Number.MAX_SAFE_INTEGER)) return value
    throw new InvalidArgumentError(`expected an integer ${expected}`)
  }
}

/** A human-readable logger for the CLI's notices: the message, then its fields. */
function stderrLogger(io: CliIo): Logger {
  const write = (fields: Record<string, unknown>, msg: string): void => {
    const details = Object.entries(fields).map(([key, value]) => `\n  ${key}: ${String(value)}`)
    io.err(`parley: ${msg}${details.join('')}\n`)
  }
  const logger: Logger = {
    debug: () => {},
    info: write,
    warn: write,
    error: write,
    child: () => logger,
  }
  return logger
}
