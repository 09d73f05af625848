/** Where the bench says what it is doing; the CLI prints it, tests keep it quiet. */
export interface Progress {
  note(line: string): void
}

export const silentProgress: Progress = { note: () => {} }

/** Lines on a stream, each with the seconds since the run started. */
export function streamProgress(
  out: NodeJS.WritableStream,
  startedAt = performance.now(),
): Progress {
  return {
    note(line) {
      const seconds = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)
      out.write(`[${seconds}s] ${line}\n`)
    },
  }
}
