/**
 * TEST-ONLY. Protobuf messages of the EventStoreDB gRPC API to and from the double's log, built
 * with the classes that @eventstore/db-client ships, so the double speaks exactly its wire format.
 */
import { Empty, StreamIdentifier, UUID } from '@eventstore/db-client/generated/shared_pb'
import {
  AppendReq,
  AppendResp,
  ReadReq,
  ReadResp,
} from '@eventstore/db-client/generated/streams_pb'
import type { AppendOutcome, Expected, ProposedEvent, StoredEvent } from './log'

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The server refuses an id that is no UUID (the client would send any string). */
export const isUuid = (id: string): boolean => UUID_PATTERN.test(id)

export const streamNameOf = (identifier: StreamIdentifier | undefined): string =>
  Buffer.from(identifier?.getStreamName_asU8() ?? new Uint8Array()).toString('utf8')

export function expectedOf(options: AppendReq.Options): Expected {
  if (options.hasRevision()) return BigInt(options.getRevision())
  if (options.hasNoStream()) return 'no_stream'
  if (options.hasStreamExists()) return 'stream_exists'
  return 'any'
}

export function proposedOf(message: AppendReq.ProposedMessage): ProposedEvent {
  const metadata = message.getMetadataMap()
  return {
    id: message.getId()?.getString() ?? '',
    type: metadata.get('type') ?? '',
    contentType: metadata.get('content-type') ?? '',
    data: message.getData_asU8(),
    customMetadata: message.getCustomMetadata_asU8(),
  }
}

export function appendResponse(outcome: AppendOutcome): AppendResp {
  const response = new AppendResp()
  if (outcome.ok) {
    const success = new AppendResp.Success()
    if (outcome.currentRevision < 0n) success.setNoStream(new Empty())
    else success.setCurrentRevision(outcome.currentRevision.toString())
    const position = new AppendResp.Position()
    position.setCommitPosition(outcome.position.toString())
    position.setPreparePosition(outcome.position.toString())
    success.setPosition(position)
    return response.setSuccess(success)
  }

  // As the server reports it: the stream's actual revision (or no stream) and what was expected.
  const wrong = new AppendResp.WrongExpectedVersion()
  if (outcome.current === undefined) wrong.setCurrentNoStream(new Empty())
  else wrong.setCurrentRevision(outcome.current.toString())
  const { expected } = outcome
  if (typeof expected === 'bigint') wrong.setExpectedRevision(expected.toString())
  else if (expected === 'no_stream') wrong.setExpectedNoStream(new Empty())
  else if (expected === 'stream_exists') wrong.setExpectedStreamExists(new Empty())
  else wrong.setExpectedAny(new Empty())
  return response.setWrongExpectedVersion(wrong)
}

export function eventResponse(event: StoredEvent): ReadResp {
  const recorded = new ReadResp.ReadEvent.RecordedEvent()
  recorded.setId(new UUID().setString(event.id))
  recorded.setStreamIdentifier(
    new StreamIdentifier().setStreamName(Buffer.from(event.streamName, 'utf8')),
  )
  recorded.setStreamRevision(event.revision.toString())
  recorded.setCommitPosition(event.position.toString())
  recorded.setPreparePosition(event.position.toString())
  recorded
    .getMetadataMap()
    .set('type', event.type)
    .set('content-type', event.contentType)
    .set('created', event.created.toString())
  recorded.setCustomMetadata(event.customMetadata)
  recorded.setData(event.data)

  const read = new ReadResp.ReadEvent().setEvent(recorded)
  read.setCommitPosition(event.position.toString())
  return new ReadResp().setEvent(read)
}

export const confirmationResponse = (subscriptionId: string): ReadResp =>
  new ReadResp().setConfirmation(
    new ReadResp.SubscriptionConfirmation().setSubscriptionId(subscriptionId),
  )

export const checkpointResponse = (position: bigint): ReadResp =>
  new ReadResp().setCheckpoint(
    new ReadResp.Checkpoint()
      .setCommitPosition(position.toString())
      .setPreparePosition(position.toString()),
  )

export const caughtUpResponse = (): ReadResp => new ReadResp().setCaughtUp(new ReadResp.CaughtUp())

export const streamNotFoundResponse = (streamName: string): ReadResp =>
  new ReadResp().setStreamNotFound(
    new ReadResp.StreamNotFound().setStreamIdentifier(
      new StreamIdentifier().setStreamName(Buffer.from(streamName, 'utf8')),
    ),
  )

/** The server-side filter of a read or subscription of $all, with its checkpoint interval. */
export interface AllFilter {
  matches(event: StoredEvent): boolean
  /** Events scanned between two checkpoints of a subscription. */
  checkpointEvery: number
}

/** The server's default search window when the client asks for none (`count`). */
const DEFAULT_MAX_SEARCH_WINDOW = 32

export function filterOf(options: ReadReq.Options): AllFilter | undefined {
  if (!options.hasFilter()) return undefined
  const filter = options.getFilter() as ReadReq.Options.FilterOptions
  const onStream = filter.hasStreamIdentifier()
  const expression = onStream ? filter.getStreamIdentifier() : filter.getEventType()
  const prefixes = expression?.getPrefixList() ?? []
  const regex = expression?.getRegex() ? new RegExp(expression.getRegex()) : undefined
  const window = filter.hasMax() ? filter.getMax() : DEFAULT_MAX_SEARCH_WINDOW
  return {
    matches(event) {
      const subject = onStream ? event.streamName : event.type
      if (regex) return regex.test(subject)
      return prefixes.some((prefix) => subject.startsWith(prefix))
    },
    checkpointEvery: window * Math.max(1, filter.getCheckpointintervalmultiplier()),
  }
}
