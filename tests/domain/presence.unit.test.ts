import t from 'tap'
import type { DisconnectReason, PresenceEvent } from '../../src/domain/presence/events'
import {
  presenceDecider,
  type PresenceCommand,
  type PresenceState,
} from '../../src/domain/presence/presence'
import {
  DEFAULT_LEAVE_AFTER_MS,
  DEFAULT_OFFLINE_AFTER_MS,
  recommendedHeartbeatMs,
  type PresenceThresholds,
} from '../../src/domain/presence/thresholds'
import { fold } from '../../src/domain/shared/decider'
import type { Participant } from '../../src/domain/shared/participant'
import { spec } from './decider-spec'

// The presence decider: Connect, Beat, Disconnect and Sweep, with the production defaults
// (offline after 30 s of silence, left after 120 s). Times are absolute; T0 is the first opening.

const { given } = spec(presenceDecider)

const who: Participant = { role: 'user', id: 'u-1' }
const thresholds: PresenceThresholds = {
  offlineAfterMs: DEFAULT_OFFLINE_AFTER_MS,
  leaveAfterMs: DEFAULT_LEAVE_AFTER_MS,
}
const T0 = 1_000_000
const OFFLINE = DEFAULT_OFFLINE_AFTER_MS
const LEAVE = DEFAULT_LEAVE_AFTER_MS

// Events
const openedOn = (connectionId: string, at: number, nodeId = 0): PresenceEvent => ({
  type: 'ConnectionOpened',
  data: { who, connectionId, nodeId, at },
})
const beaten = (connectionId: string, at: number): PresenceEvent => ({
  type: 'HeartbeatRecorded',
  data: { who, connectionId, at },
})
const closedOn = (
  connectionId: string,
  at: number,
  reason: DisconnectReason = 'closed',
): PresenceEvent => ({ type: 'ConnectionClosed', data: { who, connectionId, reason, at } })
const timedOut = (connectionId: string, at: number) =>
  closedOn(connectionId, at, 'heartbeat_timeout')
const online = (at: number): PresenceEvent => ({ type: 'WentOnline', data: { who, at } })
const offline = (lastHeartbeatAt: number, at: number): PresenceEvent => ({
  type: 'WentOffline',
  data: { who, lastHeartbeatAt, at },
})
const left = (lastHeartbeatAt: number, at: number): PresenceEvent => ({
  type: 'PersonLeft',
  data: { who, lastHeartbeatAt, at },
})

// Commands
const connect = (connectionId: string, now: number, nodeId = 0): PresenceCommand => ({
  type: 'Connect',
  who,
  connectionId,
  nodeId,
  now,
})
const beat = (connectionId: string, now: number): PresenceCommand => ({
  type: 'Beat',
  who,
  connectionId,
  now,
})
const disconnect = (
  connectionId: string,
  now: number,
  reason: DisconnectReason = 'closed',
): PresenceCommand => ({ type: 'Disconnect', who, connectionId, reason, thresholds, now })
const sweep = (now: number): PresenceCommand => ({ type: 'Sweep', who, thresholds, now })

/** One connection `a`, opened at T0 and online. */
const connectedA = [openedOn('a', T0), online(T0)]
/** `a` timed out by a sweep at the offline threshold: offline, no connection left. */
const wentOffline = [...connectedA, timedOut('a', T0 + OFFLINE), offline(T0, T0 + OFFLINE)]

t.test('Connect', async (t) => {
  t.test(
    'opens the first connection and brings the person online',
    given([])
      .when(connect('a', T0, 7))
      .then([openedOn('a', T0, 7), online(T0)]),
  )

  t.test(
    'opens a second connection of an online person without a second WentOnline',
    given(connectedA)
      .when(connect('b', T0 + 5))
      .then([openedOn('b', T0 + 5)]),
  )

  t.test(
    'brings an offline person back online within the leave window',
    given(wentOffline)
      .when(connect('b', T0 + LEAVE - 1))
      .then([openedOn('b', T0 + LEAVE - 1), online(T0 + LEAVE - 1)]),
  )

  t.test(
    'brings a person who has left back online',
    given([...wentOffline, left(T0, T0 + LEAVE)])
      .when(connect('b', T0 + LEAVE + 10))
      .then([openedOn('b', T0 + LEAVE + 10), online(T0 + LEAVE + 10)]),
  )
})

t.test('Beat', async (t) => {
  t.test(
    'records a heartbeat on an open connection of an online person',
    given(connectedA)
      .when(beat('a', T0 + 10_000))
      .then([beaten('a', T0 + 10_000)]),
  )

  t.test(
    'opens again, on no node, a connection a sweep timed out while its socket lived on',
    given(wentOffline)
      .when(beat('a', T0 + OFFLINE + 50))
      .then([openedOn('a', T0 + OFFLINE + 50, -1), online(T0 + OFFLINE + 50)]),
  )

  t.test(
    'opens again a timed-out connection of a person still online by another connection',
    given([...connectedA, openedOn('b', T0 + 20_000), timedOut('a', T0 + OFFLINE)])
      .when(beat('a', T0 + OFFLINE + 5))
      .then([openedOn('a', T0 + OFFLINE + 5, -1)]),
  )

  t.test(
    'brings the person back online when a stale connection that was left open beats again',
    // b closed while a was stale: offline, with a still on record.
    given([
      ...connectedA,
      openedOn('b', T0 + 10_000),
      closedOn('b', T0 + OFFLINE + 5_000),
      offline(T0 + 10_000, T0 + OFFLINE + 5_000),
    ])
      .when(beat('a', T0 + OFFLINE + 6_000))
      .then([beaten('a', T0 + OFFLINE + 6_000), online(T0 + OFFLINE + 6_000)]),
  )
})

t.test('Disconnect', async (t) => {
  t.test(
    'closes the last connection and takes the person offline at once',
    given([...connectedA, beaten('a', T0 + 10_000)])
      .when(disconnect('a', T0 + 12_000))
      .then([closedOn('a', T0 + 12_000), offline(T0 + 10_000, T0 + 12_000)]),
  )

  t.test(
    'keeps the person online while another connection beat within the threshold',
    given([...connectedA, openedOn('b', T0 + 20_000)])
      .when(disconnect('a', T0 + OFFLINE + 1_000, 'heartbeat_timeout'))
      .then([timedOut('a', T0 + OFFLINE + 1_000)]),
  )

  t.test(
    'takes the person offline when the remaining connection is itself silent',
    given([...connectedA, openedOn('b', T0 + 1_000)])
      .when(disconnect('b', T0 + OFFLINE + 2_000))
      .then([closedOn('b', T0 + OFFLINE + 2_000), offline(T0 + 1_000, T0 + OFFLINE + 2_000)]),
  )

  t.test(
    'ignores the late close of a connection a sweep already timed out',
    given(wentOffline)
      .when(disconnect('a', T0 + OFFLINE + 100, 'heartbeat_timeout'))
      .thenNothing(),
  )

  t.test(
    'ignores the late close of an old socket after a reconnect',
    given([...wentOffline, openedOn('b', T0 + OFFLINE + 500), online(T0 + OFFLINE + 500)])
      .when(disconnect('a', T0 + OFFLINE + 600))
      .thenNothing(),
  )

  t.test(
    'records the close of a connection of an offline person without a second WentOffline',
    given([
      ...connectedA,
      openedOn('b', T0 + 1_000),
      closedOn('b', T0 + OFFLINE + 2_000),
      offline(T0 + 1_000, T0 + OFFLINE + 2_000),
    ])
      .when(disconnect('a', T0 + OFFLINE + 3_000, 'server_shutdown'))
      .then([closedOn('a', T0 + OFFLINE + 3_000, 'server_shutdown')]),
  )

  t.test(
    'ignores a close for a person who never connected',
    given([]).when(disconnect('a', T0)).thenNothing(),
  )
})

t.test('Sweep', async (t) => {
  t.test('does nothing for a person who never connected', given([]).when(sweep(T0)).thenNothing())

  t.test(
    'does nothing one millisecond before the offline threshold',
    given(connectedA)
      .when(sweep(T0 + OFFLINE - 1))
      .thenNothing(),
  )

  t.test(
    'times out the silent connection and goes offline exactly at the offline threshold',
    given(connectedA)
      .when(sweep(T0 + OFFLINE))
      .then([timedOut('a', T0 + OFFLINE), offline(T0, T0 + OFFLINE)]),
  )

  t.test(
    'measures the offline threshold from the last heartbeat, not the opening',
    given([...connectedA, beaten('a', T0 + 25_000)])
      .when(sweep(T0 + OFFLINE + 1_000))
      .thenNothing(),
  )

  t.test(
    'times out a silent connection but stays online while another beats',
    given([...connectedA, openedOn('b', T0 + 20_000)])
      .when(sweep(T0 + OFFLINE))
      .then([timedOut('a', T0 + OFFLINE)]),
  )

  t.test(
    'times out every silent connection before going offline',
    given([...connectedA, openedOn('b', T0 + 1_000), beaten('a', T0 + 2_000)])
      .when(sweep(T0 + 40_000))
      .then([
        timedOut('a', T0 + 40_000),
        timedOut('b', T0 + 40_000),
        offline(T0 + 2_000, T0 + 40_000),
      ]),
  )

  t.test(
    'does not leave one millisecond before the leave threshold',
    given(wentOffline)
      .when(sweep(T0 + LEAVE - 1))
      .thenNothing(),
  )

  t.test(
    'leaves exactly at the leave threshold, measured from the last heartbeat',
    given(wentOffline)
      .when(sweep(T0 + LEAVE))
      .then([left(T0, T0 + LEAVE)]),
  )

  t.test(
    'leaves after a clean close once the leave threshold has passed since the last beat',
    given([
      ...connectedA,
      beaten('a', T0 + 9_000),
      closedOn('a', T0 + 9_500),
      offline(T0 + 9_000, T0 + 9_500),
    ])
      .when(sweep(T0 + 9_000 + LEAVE))
      .then([left(T0 + 9_000, T0 + 9_000 + LEAVE)]),
  )

  t.test(
    'times out, goes offline and leaves in one decision after a long outage of the monitor',
    given(connectedA)
      .when(sweep(T0 + LEAVE + 5_000))
      .then([
        timedOut('a', T0 + LEAVE + 5_000),
        offline(T0, T0 + LEAVE + 5_000),
        left(T0, T0 + LEAVE + 5_000),
      ]),
  )

  t.test(
    'does not leave while an offline person still has a connection on record',
    given([
      ...connectedA,
      openedOn('b', T0 + 1_000),
      closedOn('b', T0 + OFFLINE + 2_000),
      offline(T0 + 1_000, T0 + OFFLINE + 2_000),
    ])
      // a is stale and is timed out by this sweep; the departure waits for the leave threshold.
      .when(sweep(T0 + OFFLINE + 3_000))
      .then([timedOut('a', T0 + OFFLINE + 3_000)]),
  )

  t.test(
    'decides the departure only once: a person who has left is not left again',
    given([...wentOffline, left(T0, T0 + LEAVE)])
      .when(sweep(T0 + LEAVE * 3))
      .thenNothing(),
  )

  t.test(
    'does not leave a person who came back within the leave window',
    given([...wentOffline, openedOn('b', T0 + LEAVE - 1_000), online(T0 + LEAVE - 1_000)])
      .when(sweep(T0 + LEAVE + 1_000))
      .thenNothing(),
  )
})

t.test('state', async (t) => {
  const fold_ = (events: PresenceEvent[]): PresenceState => fold(presenceDecider, events)

  t.test('keeps the newest heartbeat even when an older one is folded after it', async (t) => {
    const state = fold_([...connectedA, beaten('a', T0 + 9_000), beaten('a', T0 + 8_000)])
    t.equal(state.lastHeartbeatAt, T0 + 9_000, 'lastHeartbeatAt never goes back')
  })

  t.test('tracks each open connection with its own last beat', async (t) => {
    const state = fold_([
      ...connectedA,
      openedOn('b', T0 + 3),
      beaten('a', T0 + 7),
      closedOn('b', T0 + 9),
    ])
    t.same([...state.connections], [['a', T0 + 7]])
    t.equal(state.status, 'online')
    t.equal(state.lastHeartbeatAt, T0 + 7, 'a closed connection keeps its beats in lastHeartbeatAt')
  })

  t.test('ignores an event type written by a newer version', async (t) => {
    const unknown = { type: 'PresenceNoted', data: { who, at: T0 + 1 } } as unknown as PresenceEvent
    t.same(fold_([...connectedA, unknown]), fold_(connectedA))
  })

  t.test('starts with no status and no connection', async (t) => {
    t.same(presenceDecider.initialState(), {
      status: null,
      connections: new Map(),
      lastHeartbeatAt: null,
    })
  })
})

t.test('recommends a heartbeat every third of the offline threshold', async (t) => {
  t.equal(recommendedHeartbeatMs(DEFAULT_OFFLINE_AFTER_MS), 10_000)
  t.equal(recommendedHeartbeatMs(300), 100)
  t.ok(recommendedHeartbeatMs(1_000) * 3 <= 1_000, 'three beats fit in the threshold')
})
