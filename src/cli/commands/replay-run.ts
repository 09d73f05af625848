import { once } from 'node:events'
import { createWriteStream, statSync } from 'node:fs'
import type { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { ParleyError } from '../../domain/shared/errors'
import { loadConfig } from '../../infra/config/config'
import { formatterFor } from './replay-format'
import { interruptSignal, stdoutOf, type ReplayIo } from './replay-io'
import { filterOf, resumeArguments, shellQuote, type ReplayOptions } from './replay-options'
import { createProgress } from './replay-progress'
import { openEventLog, selectEvents } from './replay-source'
import { ChunkWriter } from './replay-writer'

/** Bytes a file output may hold in flight, so reading goes on while the disk writes: 1 MiB. */
const FILE_BUFFER_BYTES = 1 << 20

/** Code of a replay stopped by Ctrl-C (or its signal) before the end. */
export const REPLAY_INTERRUPTED = 'replay_interrupted' as const

/** A replay stopped early; the message says where and how to resume. */
export class ReplayInterruptedError extends ParleyError {
  readonly position: bigint
  readonly events: number
  readonly resumeArgs: string[]

  constructor(position: bigint, events: number, resumeArgs: string[]) {
    const command = ['parley', ...resumeArgs].map(shellQuote).join(' ')
    super(
      REPLAY_INTERRUPTED,
      `replay interrupted after position ${position} (${events} events written)\n` +
        `resume with: ${command}`,
      { position: String(position), events, resumeArgs },
    )
    this.position = position
    this.events = events
    this.resumeArgs = resumeArgs
  }
}

/** What a finished replay did. */
export interface ReplaySummary {
  events: number
  /** The position of the last event written, if any. */
  lastPosition: bigint | undefined
}

/**
 * `parley replay`: streams the selected events to stdout or `--out`, one line each. Stopped by
 * its signal, it finishes the current line, flushes, and throws ReplayInterruptedError naming
 * the position of the last line written and the command that continues right after it.
 */
export async function runReplay(options: ReplayOptions, io: ReplayIo): Promise<ReplaySummary> {
  // 1. What to read, and where from.
  const filter = filterOf(options)
  const config = options.dataDir === undefined ? loadConfig(io.env) : undefined
  const source = { dataDir: options.dataDir, eventStoreUrl: config?.eventStoreUrl }
  const store = openEventLog(source, config?.dataDir)
  const interrupt = interruptSignal(io)
  const format = formatterFor(options.format)
  let output: { stream: Writable; owned: boolean } | undefined
  let events = 0
  let lastPosition: bigint | undefined

  try {
    // 2. Where to write: the file's header only if it starts empty.
    output = await openOutput(options, io)
    const writer = new ChunkWriter(output.stream)
    if (!(options.append && hasContent(options.out))) writer.push(format.header())
    const progress = createProgress({
      stream: io.stderr,
      enabled: options.progress,
      label: 'replay',
      after: filter.afterPosition ?? 0n,
      last: filter.toPosition ?? (await store.headPosition()),
    })

    // 3. Stream, checking the signal after each line.
    try {
      for await (const event of await selectEvents(store, filter)) {
        const written = writer.push(format.line(event))
        events += 1
        lastPosition = event.position
        if (written) {
          await written
          progress.update(event.position, events)
        }
        if (interrupt.signal.aborted || writer.gone) break
      }
      await writer.flush()
    } finally {
      progress.stop()
      writer.detach()
    }
  } finally {
    interrupt.release()
    if (output?.owned) {
      output.stream.end()
      await finished(output.stream)
    }
    await store.close()
  }

  if (interrupt.signal.aborted) {
    const position = lastPosition ?? filter.afterPosition ?? 0n
    throw new ReplayInterruptedError(position, events, resumeArguments(options, position))
  }
  return { events, lastPosition }
}

/** Stdout, or the `--out` file once it is open: a bad path fails before anything is read. */
async function openOutput(
  options: ReplayOptions,
  io: ReplayIo,
): Promise<{ stream: Writable; owned: boolean }> {
  if (options.out === undefined) return { stream: stdoutOf(io), owned: false }

  const flags = options.append ? 'a' : 'w'
  const stream = createWriteStream(options.out, { flags, highWaterMark: FILE_BUFFER_BYTES })
  await once(stream, 'open')
  return { stream, owned: true }
}

function hasContent(path: string | undefined): boolean {
  if (path === undefined) return false
  try {
    return statSync(path).size > 0
  } catch {
    return false
  }
}
