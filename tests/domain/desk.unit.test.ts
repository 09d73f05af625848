import t from 'tap'
import { type DeskCommand, type DeskEvent, deskDecider } from '../../src/domain/desk/desk'
import { spec } from './decider-spec'

const { given } = spec(deskDecider)

const AGENT_ID = 'agent-1'
const DEFAULT_SEATS = 2
const AT = 1_000

const seatsSet = (seats: number): DeskEvent => ({
  type: 'AgentSeatsSet',
  data: { agentId: AGENT_ID, seats, at: AT },
})
const taken = (conversationId: string): DeskEvent => ({
  type: 'SeatTaken',
  data: { agentId: AGENT_ID, conversationId, at: AT },
})
const released = (conversationId: string, reason = 'closed'): DeskEvent => ({
  type: 'SeatReleased',
  data: { agentId: AGENT_ID, conversationId, reason, at: AT },
})

const setSeats = (seats: number): DeskCommand => ({
  type: 'SetSeats',
  agentId: AGENT_ID,
  seats,
  now: AT,
})
const take = (conversationId: string): DeskCommand => ({
  type: 'TakeSeat',
  agentId: AGENT_ID,
  conversationId,
  defaultSeats: DEFAULT_SEATS,
  now: AT,
})
const release = (conversationId: string, reason = 'closed'): DeskCommand => ({
  type: 'ReleaseSeat',
  agentId: AGENT_ID,
  conversationId,
  reason,
  now: AT,
})

t.test('seats', async (t) => {
  t.test(
    'gives an agent who never set seats the default number',
    given([taken('c-1')])
      .when(take('c-2'))
      .then([taken('c-2')]),
  )

  t.test(
    'refuses a seat beyond the default',
    given([taken('c-1'), taken('c-2')])
      .when(take('c-3'))
      .thenThrows('conflict'),
  )

  t.test(
    'uses the seats the agent set instead of the default',
    given([seatsSet(3), taken('c-1'), taken('c-2')])
      .when(take('c-3'))
      .then([taken('c-3')]),
  )

  t.test(
    'uses fewer seats than the default when the agent set fewer',
    given([seatsSet(1), taken('c-1')])
      .when(take('c-2'))
      .thenThrows('conflict'),
  )

  t.test(
    'sets the seats the first time',
    given([])
      .when(setSeats(3))
      .then([seatsSet(3)]),
  )

  t.test(
    'records the seats even when they equal the default, since the default may change',
    given([])
      .when(setSeats(DEFAULT_SEATS))
      .then([seatsSet(DEFAULT_SEATS)]),
  )

  t.test(
    'does nothing when the seats are unchanged',
    given([seatsSet(3)])
      .when(setSeats(3))
      .thenNothing(),
  )

  t.test(
    'records a change of seats',
    given([seatsSet(3)])
      .when(setSeats(4))
      .then([seatsSet(4)]),
  )
})

t.test('TakeSeat', async (t) => {
  t.test(
    'takes a free seat',
    given([])
      .when(take('c-1'))
      .then([taken('c-1')]),
  )

  t.test(
    'takes seats up to the capacity, then refuses with reason seats_full',
    given([seatsSet(2), taken('c-1'), taken('c-2')])
      .when(take('c-3'))
      .thenThrows('conflict', { reason: 'seats_full' }),
  )

  t.test(
    'does nothing when the conversation already holds a seat, even with every seat taken',
    given([taken('c-1'), taken('c-2')])
      .when(take('c-1'))
      .thenNothing(),
  )

  t.test(
    'takes a seat freed by a release',
    given([taken('c-1'), taken('c-2'), released('c-1')])
      .when(take('c-3'))
      .then([taken('c-3')]),
  )

  t.test(
    'takes a seat again for a conversation that released it',
    given([taken('c-1'), released('c-1')])
      .when(take('c-1'))
      .then([taken('c-1')]),
  )

  t.test(
    'refuses when the agent lowered the seats below those held',
    given([taken('c-1'), taken('c-2'), seatsSet(1), released('c-1')])
      .when(take('c-3'))
      .thenThrows('conflict', { reason: 'seats_full' }),
  )
})

t.test('ReleaseSeat', async (t) => {
  t.test(
    'releases a held seat with its reason',
    given([taken('c-1')])
      .when(release('c-1', 'agent_left'))
      .then([released('c-1', 'agent_left')]),
  )

  t.test(
    'does nothing for a seat not held',
    given([taken('c-1')])
      .when(release('c-2'))
      .thenNothing(),
  )

  t.test(
    'does nothing when the seat was already released',
    given([taken('c-1'), released('c-1')])
      .when(release('c-1'))
      .thenNothing(),
  )
})
