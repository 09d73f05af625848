import { type MessagePort, parentPort, receiveMessageOnPort } from 'node:worker_threads'
import { createCommitter } from './sqlite-commit'
import { openEventsDatabase, prepareStatements } from './sqlite-schema'
import {
  type OpenWriter,
  type WriteRequest,
  type WriterEvent,
  type WriterMessage,
  serializeError,
} from './sqlite-writer-protocol'

/**
 * The event stores' writer thread: it owns the write connection of every SQLite event store of
 * the process (one in production), so commits and their fsyncs block this thread, never the main
 * one. Whatever a store sent while a commit ran waits in its port and is taken in one go for the
 * next transaction: group commit that fills up exactly as fast as the disk is slow.
 */
function serve({ path, port }: OpenWriter): void {
  const tell = (event: WriterEvent): void => port.postMessage(event)
  let committer: ReturnType<typeof createCommitter>
  let db: ReturnType<typeof openEventsDatabase>
  try {
    db = openEventsDatabase(path)
    committer = createCommitter(db, prepareStatements(db))
  } catch (err) {
    tell({ kind: 'broken', error: serializeError(err) })
    return
  }

  const drain = (first: WriterMessage): void => {
    let closing = false
    const requests: WriteRequest[] = []
    for (let message: WriterMessage | undefined = first; message !== undefined;) {
      if (message.kind === 'close') closing = true
      else for (const request of message.requests) requests.push(request)
      message = closing ? undefined : receiveMessageOnPort(port)?.message
    }

    if (requests.length > 0) for (const reply of committer.run(requests)) tell(reply)
    if (!closing) return

    // Told after the last reply, on the same port, so the store has handled every reply when it
    // hears this; the store then closes the port.
    db.close()
    port.off('message', onMessage)
    tell({ kind: 'closed' })
  }

  const onMessage = (message: WriterMessage): void => {
    try {
      drain(message)
    } catch (err) {
      // A fault outside any transaction (the connection itself failed): this store can no longer
      // write, the other stores of the process go on.
      port.off('message', onMessage)
      tell({ kind: 'broken', error: serializeError(err) })
    }
  }
  port.on('message', onMessage)
}

if (parentPort === null) throw new Error('sqlite-writer-worker must run in a worker thread')
parentPort.on('message', (open: OpenWriter & { port: MessagePort }) => serve(open))
