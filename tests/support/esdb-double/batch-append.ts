/**
 * TEST-ONLY. Streams.BatchAppend of the EventStoreDB double: the path the client takes when the
 * server lists it in ServerFeatures, as every server since 21.10 does. One duplex call carries
 * many appends, told apart by correlation id; each may span several requests, the last marked
 * final. A wrong expected version comes back as a google.rpc.Status whose details pack the
 * shared WrongExpectedVersion message, as the server sends it.
 */
import { Any } from 'google-protobuf/google/protobuf/any_pb'
import { status, type ServerDuplexStream } from '@grpc/grpc-js'
import { Code } from '@eventstore/db-client/generated/code_pb'
import {
  AllStreamPosition,
  Empty,
  StreamIdentifier,
  UUID,
  WrongExpectedVersion,
} from '@eventstore/db-client/generated/shared_pb'
import { Status } from '@eventstore/db-client/generated/status_pb'
import { BatchAppendReq, BatchAppendResp } from '@eventstore/db-client/generated/streams_pb'
import type { AppendOutcome, DoubleLog, Expected, ProposedEvent } from './log'
import { isUuid, proposedOf, streamNameOf } from './wire'

type BatchCall = ServerDuplexStream<BatchAppendReq, BatchAppendResp>

interface Pending {
  streamName: string
  expected: Expected
  events: ProposedEvent[]
}

function expectedOf(options: BatchAppendReq.Options): Expected {
  if (options.hasStreamPosition()) return BigInt(options.getStreamPosition())
  if (options.hasNoStream()) return 'no_stream'
  if (options.hasStreamExists()) return 'stream_exists'
  return 'any'
}

function wrongExpectedVersion(outcome: Extract<AppendOutcome, { ok: false }>): Status {
  const details = new WrongExpectedVersion()
  if (outcome.current === undefined) details.setCurrentNoStream(new Empty())
  else details.setCurrentStreamRevision(outcome.current.toString())
  const { expected } = outcome
  if (typeof expected === 'bigint') details.setExpectedStreamPosition(expected.toString())
  else if (expected === 'no_stream') details.setExpectedNoStream(new Empty())
  else if (expected === 'stream_exists') details.setExpectedStreamExists(new Empty())
  else details.setExpectedAny(new Empty())

  const any = new Any()
  any.pack(details.serializeBinary(), 'event_store.client.WrongExpectedVersion')
  return new Status()
    .setCode(Code.FAILED_PRECONDITION)
    .setMessage('wrong expected version')
    .setDetails(any)
}

function response(correlationId: string, streamName: string, outcome: AppendOutcome) {
  const resp = new BatchAppendResp()
    .setCorrelationId(new UUID().setString(correlationId))
    .setStreamIdentifier(new StreamIdentifier().setStreamName(Buffer.from(streamName, 'utf8')))
  if (!outcome.ok) return resp.setError(wrongExpectedVersion(outcome))

  const success = new BatchAppendResp.Success()
  if (outcome.currentRevision < 0n) success.setNoStream(new Empty())
  else success.setCurrentRevision(outcome.currentRevision.toString())
  const position = new AllStreamPosition()
    .setCommitPosition(outcome.position.toString())
    .setPreparePosition(outcome.position.toString())
  return resp.setSuccess(success.setPosition(position))
}

export function batchAppendHandler(log: DoubleLog) {
  return (call: BatchCall): void => {
    const pending = new Map<string, Pending>()
    call.on('data', (request: BatchAppendReq) => {
      const correlationId = request.getCorrelationId()?.getString() ?? ''
      let append = pending.get(correlationId)
      const options = request.getOptions()
      if (append === undefined && options !== undefined) {
        append = {
          streamName: streamNameOf(options.getStreamIdentifier()),
          expected: expectedOf(options),
          events: [],
        }
        pending.set(correlationId, append)
      }
      if (append === undefined) {
        call.emit('error', { code: status.INVALID_ARGUMENT, details: 'batch without options' })
        return
      }
      for (const message of request.getProposedMessagesList()) {
        // Same fields as Append's ProposedMessage, hence the same decoding.
        append.events.push(proposedOf(message as never))
      }
      if (!request.getIsFinal()) return

      pending.delete(correlationId)
      const badId = append.events.find((event) => !isUuid(event.id))
      if (badId) {
        call.emit('error', { code: status.INVALID_ARGUMENT, details: `bad event id ${badId.id}` })
        return
      }
      const outcome = log.append(append.streamName, append.expected, append.events)
      call.write(response(correlationId, append.streamName, outcome))
    })
    call.on('end', () => call.end())
  }
}
