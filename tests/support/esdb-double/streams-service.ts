/**
 * TEST-ONLY. The Streams service of the EventStoreDB double: Append, and Read of one stream, of
 * $all and as a catch-up subscription to $all. Only what @eventstore/db-client 6.2.1 sends for
 * Parley's adapter; Delete and Tombstone answer UNIMPLEMENTED. BatchAppend is ./batch-append.ts.
 */
import { randomUUID } from 'node:crypto'
import {
  status,
  type sendUnaryData,
  type ServerReadableStream,
  type ServerWritableStream,
} from '@grpc/grpc-js'
import type {
  AppendReq,
  AppendResp,
  ReadReq,
  ReadResp,
} from '@eventstore/db-client/generated/streams_pb'
import type { DoubleLog, ProposedEvent, StoredEvent } from './log'
import {
  type AllFilter,
  appendResponse,
  caughtUpResponse,
  checkpointResponse,
  confirmationResponse,
  eventResponse,
  expectedOf,
  filterOf,
  isUuid,
  proposedOf,
  streamNameOf,
  streamNotFoundResponse,
} from './wire'

type ReadCall = ServerWritableStream<ReadReq, ReadResp>
type AppendCall = ServerReadableStream<AppendReq, AppendResp>

/** What a test can ask the double about the traffic it served. */
export interface StreamsTraffic {
  /** Every event sent on a read or subscription of $all, in order, and whether it was filtered. */
  sentFromAll: SentEvent[]
  /**
   * Ends every open subscription: with UNAVAILABLE, as a server restarting or failing over, or
   * (`end`) with a plain end of the call, which no subscription should ever see.
   */
  dropSubscriptions(how?: DropMode): number
}

export type DropMode = 'unavailable' | 'end'

export interface SentEvent {
  streamName: string
  /** Whether the call carried a server-side filter. */
  filtered: boolean
}

export function createStreamsService(log: DoubleLog) {
  const subscriptions = new Set<ReadCall>()
  const traffic: StreamsTraffic = {
    sentFromAll: [],
    dropSubscriptions(how = 'unavailable') {
      const dropped = [...subscriptions]
      subscriptions.clear()
      for (const call of dropped) {
        if (how === 'end') call.end()
        else call.emit('error', { code: status.UNAVAILABLE, details: 'subscription dropped' })
      }
      return dropped.length
    },
  }

  const sendFromAll = (call: ReadCall, event: StoredEvent, filtered: boolean): void => {
    traffic.sentFromAll.push({ streamName: event.streamName, filtered })
    call.write(eventResponse(event))
  }

  const readStream = (call: ReadCall, options: ReadReq.Options): void => {
    const streamOptions = options.getStream() as ReadReq.Options.StreamOptions
    const streamName = streamNameOf(streamOptions.getStreamIdentifier())
    const stream = log.stream(streamName)
    if (stream === undefined) {
      call.write(streamNotFoundResponse(streamName))
      return void call.end()
    }

    const backwards = options.getReadDirection() === 1
    const count = Number(options.getCount() || Number.MAX_SAFE_INTEGER)
    let from = backwards ? stream.length - 1 : 0
    if (streamOptions.hasRevision()) from = Number(streamOptions.getRevision())
    else if (streamOptions.hasEnd()) from = backwards ? stream.length - 1 : stream.length
    const step = backwards ? -1 : 1
    for (let i = from, sent = 0; i >= 0 && i < stream.length && sent < count; i += step, sent++) {
      call.write(eventResponse(stream[i]))
    }
    call.end()
  }

  // Reads of $all include the event at the given position forwards and stop before it
  // backwards, as the server's do; subscriptions start strictly after it.
  const readAll = (call: ReadCall, options: ReadReq.Options, filter?: AllFilter): void => {
    const all = log.all()
    const allOptions = options.getAll() as ReadReq.Options.AllOptions
    const backwards = options.getReadDirection() === 1
    const at = allOptions.hasPosition()
      ? BigInt(allOptions.getPosition()?.getCommitPosition() ?? '0')
      : undefined
    const count = Number(options.getCount() || Number.MAX_SAFE_INTEGER)
    const inRange = (event: StoredEvent): boolean => {
      if (allOptions.hasEnd()) return backwards
      if (at === undefined) return !backwards
      return backwards ? event.position < at : event.position >= at
    }
    const ordered = backwards ? [...all].reverse() : all
    let sent = 0
    for (const event of ordered) {
      if (sent >= count) break
      if (!inRange(event) || (filter && !filter.matches(event))) continue
      sendFromAll(call, event, filter !== undefined)
      sent++
    }
    call.end()
  }

  const subscribeToAll = (call: ReadCall, options: ReadReq.Options, filter?: AllFilter): void => {
    const allOptions = options.getAll() as ReadReq.Options.AllOptions
    let after = -1n
    if (allOptions.hasPosition())
      after = BigInt(allOptions.getPosition()?.getCommitPosition() ?? '0')
    if (allOptions.hasEnd()) after = log.all().at(-1)?.position ?? -1n
    let scanned = 0

    const offer = (event: StoredEvent): void => {
      if (event.position <= after) return
      if (!filter || filter.matches(event)) sendFromAll(call, event, filter !== undefined)
      scanned += 1
      if (filter && scanned % filter.checkpointEvery === 0) {
        call.write(checkpointResponse(event.position))
      }
    }

    // 1. Confirm, 2. catch up, 3. say so, 4. go live. All in one turn of the event loop, so
    // no append can fall between the catch-up and the live listener.
    call.write(confirmationResponse(randomUUID()))
    for (const event of log.all()) offer(event)
    call.write(caughtUpResponse())
    const unlisten = log.onAppended(offer)
    subscriptions.add(call)
    const stop = (): void => {
      unlisten()
      subscriptions.delete(call)
    }
    call.on('cancelled', stop)
    call.on('error', stop)
    call.on('close', stop)
  }

  const implementation = {
    read(call: ReadCall) {
      const options = call.request.getOptions() as ReadReq.Options
      if (options.hasStream()) {
        if (options.hasSubscription()) {
          call.emit('error', { code: status.UNIMPLEMENTED, details: 'stream subscriptions' })
          return
        }
        return readStream(call, options)
      }
      const filter = filterOf(options)
      if (options.hasSubscription()) return subscribeToAll(call, options, filter)
      readAll(call, options, filter)
    },

    append(call: AppendCall, callback: sendUnaryData<AppendResp>) {
      let options: AppendReq.Options | undefined
      const events: ProposedEvent[] = []
      call.on('data', (request: AppendReq) => {
        if (request.hasOptions()) options = request.getOptions()
        else if (request.hasProposedMessage()) {
          events.push(proposedOf(request.getProposedMessage() as AppendReq.ProposedMessage))
        }
      })
      call.on('end', () => {
        if (options === undefined) {
          return callback({ code: status.INVALID_ARGUMENT, details: 'append without options' })
        }
        const badId = events.find((event) => !isUuid(event.id))
        if (badId) {
          return callback({ code: status.INVALID_ARGUMENT, details: `bad event id ${badId.id}` })
        }
        const streamName = streamNameOf(options.getStreamIdentifier())
        callback(null, appendResponse(log.append(streamName, expectedOf(options), events)))
      })
    },
  }

  return { implementation, traffic }
}
