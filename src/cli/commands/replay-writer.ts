import type { Writable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'

/** Text gathered before one write to the output: 64 KiB, a pipe's usual capacity. */
export const REPLAY_CHUNK_CHARS = 65_536

/**
 * Writes lines to a stream in chunks, with backpressure: when `write()` returns false the next
 * chunk waits for `drain`. After every chunk it yields one turn of the event loop, so a signal,
 * a timer (the progress bar) or a slow consumer is served even when every write succeeds at
 * once (files and pipes are written synchronously on Linux). A reader that goes away (EPIPE, as
 * `parley replay | head` does) ends the output quietly: `gone` turns true.
 */
export class ChunkWriter {
  private buffer = ''
  private failure: Error | undefined
  private closedByReader = false

  constructor(
    private readonly stream: Writable,
    private readonly chunkChars = REPLAY_CHUNK_CHARS,
  ) {
    stream.on('error', this.onError)
  }

  /** Whether the reader has gone away: nothing more can be written. */
  get gone(): boolean {
    return this.closedByReader
  }

  /** Adds text; returns a promise only when a chunk was written, to await before going on. */
  push(text: string): Promise<void> | undefined {
    this.buffer += text
    return this.buffer.length >= this.chunkChars ? this.writeChunk() : undefined
  }

  /** Writes what is buffered and resolves once the stream has taken it. */
  async flush(): Promise<void> {
    const chunk = this.take()
    if (chunk === '' || this.check()) return

    await new Promise<void>((resolve, reject) => {
      this.stream.write(chunk, (err) => (err && !isBrokenPipe(err) ? reject(err) : resolve()))
    })
    this.check()
  }

  /** Stops listening to the stream's errors; call once done with it. */
  detach(): void {
    this.stream.off('error', this.onError)
  }

  private async writeChunk(): Promise<void> {
    const chunk = this.take()
    if (this.check()) return

    if (this.stream.write(chunk)) await nextTurn()
    else await this.drained()
    this.check()
  }

  private take(): string {
    const chunk = this.buffer
    this.buffer = ''
    return chunk
  }

  /** Throws a stream failure; true when the reader has gone and writing should stop. */
  private check(): boolean {
    if (this.failure) throw this.failure
    return this.closedByReader
  }

  private drained(): Promise<void> {
    if (this.stream.destroyed) return Promise.resolve()
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done)
        this.stream.off('close', done)
        this.stream.off('error', done)
        resolve()
      }
      this.stream.on('drain', done)
      this.stream.on('close', done)
      this.stream.on('error', done)
    })
  }

  private readonly onError = (err: Error): void => {
    if (isBrokenPipe(err)) this.closedByReader = true
    else this.failure ??= err
  }
}

function isBrokenPipe(err: Error): boolean {
  return (err as NodeJS.ErrnoException).code === 'EPIPE'
}
