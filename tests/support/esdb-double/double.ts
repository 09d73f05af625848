/**
 * TEST-ONLY: a protocol double of an EventStoreDB node, for Parley's adapter tests. It serves the
 * real gRPC API (the service definitions @eventstore/db-client 6.2.1 ships) on 127.0.0.1 from an
 * in-memory log, so the adapter is tested through the real client, wire format included.
 *
 * It implements only what the adapter's calls send: ServerFeatures.GetSupportedMethods (listing
 * Read and Append, and BatchAppend when asked to, which the client then prefers), Streams.Append
 * and Streams.BatchAppend, Streams.Read of
 * one stream, of $all (forwards, backwards, from a position, max count, server-side filter) and
 * as a catch-up subscription to $all (confirmation, catch-up, checkpoints, caughtUp, live).
 *
 * Where it cannot mimic the server:
 * - no TLS and no authentication: connect with `tls=false`; credentials are ignored;
 * - a single node: no cluster, gossip, leader election or NotLeader redirects;
 * - no $maxAge/$maxCount enforcement and no scavenging: stream metadata is stored as the
 *   `$$<stream>` event the client writes, never acted on;
 * - no system streams or projections ($streams, $ce-..., $et-...), no link events, no
 *   persistent subscriptions, no deletes or tombstones;
 * - BatchAppend ignores the per-append deadline, and a bad event id fails the whole call;
 * - idempotency is checked against the whole stream, where the server keeps a bounded cache;
 * - reads of a stream report commit/prepare positions (some server versions send none there);
 * - no backpressure: a subscription's catch-up is written in one go.
 */
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js'
import { ServerFeaturesService } from '@eventstore/db-client/generated/serverfeatures_grpc_pb'
import {
  SupportedMethod,
  SupportedMethods,
} from '@eventstore/db-client/generated/serverfeatures_pb'
import type { Empty } from '@eventstore/db-client/generated/shared_pb'
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb'
import { batchAppendHandler } from './batch-append'
import { createDoubleLog, type DoubleLog } from './log'
import { type DropMode, type SentEvent, createStreamsService } from './streams-service'

/** What the double tells the client it is: a version that sends `caughtUp`. */
export const DOUBLE_SERVER_VERSION = '23.10.0-parley-double'

export interface EsdbDouble {
  /** A connection string for the client: `esdb://127.0.0.1:<port>?tls=false`. */
  url: string
  /** Every event sent from $all (reads and subscriptions), in order, and whether filtered. */
  sentFromAll: readonly SentEvent[]
  /** How many calls each Streams method served, e.g. `calls.batchAppend`. */
  calls: { read: number; append: number; batchAppend: number }
  /** The log itself, for assertions on what was stored (metadata streams included). */
  log: DoubleLog
  /** Ends every open subscription (default with UNAVAILABLE); returns how many it ended. */
  dropSubscriptions(how?: DropMode): number
  close(): Promise<void>
}

const supportedMethods = (batchAppend: boolean): SupportedMethods => {
  const method = (name: string) =>
    new SupportedMethod().setServiceName('event_store.client.streams.streams').setMethodName(name)
  const names = batchAppend ? ['read', 'append', 'batchappend'] : ['read', 'append']
  return new SupportedMethods()
    .setMethodsList(names.map(method))
    .setEventStoreServerVersion(DOUBLE_SERVER_VERSION)
}

export interface EsdbDoubleOptions {
  /** Default: a free one. */
  port?: number
  /**
   * Whether ServerFeatures lists BatchAppend, so the client appends through it as it does on
   * every server since 21.10; default false (the plain Append path).
   */
  batchAppend?: boolean
}

/** Starts a double on 127.0.0.1. */
export async function startEsdbDouble(options: EsdbDoubleOptions = {}): Promise<EsdbDouble> {
  const log = createDoubleLog()
  const streams = createStreamsService(log)
  const server = new Server()
  const calls = { read: 0, append: 0, batchAppend: 0 }
  const batchAppend = batchAppendHandler(log)
  server.addService(StreamsService, {
    read: (call: Parameters<typeof streams.implementation.read>[0]) => {
      calls.read += 1
      streams.implementation.read(call)
    },
    append: (...args: Parameters<typeof streams.implementation.append>) => {
      calls.append += 1
      streams.implementation.append(...args)
    },
    batchAppend: (call: Parameters<typeof batchAppend>[0]) => {
      calls.batchAppend += 1
      batchAppend(call)
    },
  })
  server.addService(ServerFeaturesService, {
    getSupportedMethods(
      _call: ServerUnaryCall<Empty, SupportedMethods>,
      done: sendUnaryData<SupportedMethods>,
    ) {
      done(null, supportedMethods(options.batchAppend ?? false))
    },
  })

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `127.0.0.1:${options.port ?? 0}`,
      ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    )
  })

  return {
    url: `esdb://127.0.0.1:${port}?tls=false`,
    sentFromAll: streams.traffic.sentFromAll,
    calls,
    log,
    dropSubscriptions: (how) => streams.traffic.dropSubscriptions(how),
    // At once, as a server that goes away: clients still connected see their calls fail.
    close: async () => {
      streams.traffic.dropSubscriptions()
      server.forceShutdown()
    },
  }
}
