import { Writable } from 'node:stream'
import type { CliIo } from '../main'

/** A stream that may be a terminal, as process.stderr is. */
export type TerminalStream = Writable & { isTTY?: boolean }

/**
 * What `replay` and `report` use beyond CliIo, all optional. `stdout` is written with
 * backpressure; a progress bar is drawn on `stderr` when it is a terminal; `signal` stops the
 * command as Ctrl-C does (tests abort through it). Without `stdout`, output goes through `out`;
 * without `stderr`, no bar is drawn; without `signal`, SIGINT on the process stops the command.
 */
export interface ReplayIo extends CliIo {
  stdout?: Writable
  stderr?: TerminalStream
  signal?: AbortSignal
}

/** The command's standard output as a stream: `io.stdout`, or a stream over `io.out`. */
export function stdoutOf(io: ReplayIo): Writable {
  return io.stdout ?? textWritable(io.out)
}

/** A stream that hands each chunk to a text callback at once. */
export function textWritable(write: (text: string) => void): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      write(String(chunk))
      callback()
    },
  })
}

/**
 * The signal that stops a command: the io's, or one raised by the first SIGINT while the command
 * runs (a second Ctrl-C then ends the process as usual). Call `release` when the command ends.
 */
export function interruptSignal(io: ReplayIo): { signal: AbortSignal; release(): void } {
  if (io.signal) return { signal: io.signal, release: () => {} }

  const controller = new AbortController()
  const onSigint = (): void => controller.abort()
  process.once('SIGINT', onSigint)
  return { signal: controller.signal, release: () => process.off('SIGINT', onSigint) }
}
