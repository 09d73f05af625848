import { fold, type Decider } from '../../src/domain/shared/decider'
import { DomainError, type ErrorCode } from '../../src/domain/shared/errors'

/** A test body that tap runs as a subtest: `t.test('a behaviour sentence', body)`. */
export type SpecBody = (t: tap.Test) => Promise<void>

export interface Then<Event> {
  /** The command decides exactly these events, in this order. */
  then(expected: Event[]): SpecBody
  /** The command is refused with a DomainError of this code (and, if given, these details). */
  thenThrows(code: ErrorCode, details?: Record<string, unknown>): SpecBody
  /** The command is accepted and has nothing to do: no events, no error. */
  thenNothing(): SpecBody
}

export interface Given<Command, Event> {
  when(command: Command): Then<Event>
}

export interface Spec<Command, Event> {
  given(events: Event[]): Given<Command, Event>
}

/**
 * Given/when/then for a pure decider: the given events are folded into a fresh state, the command
 * is decided against it, and the result is compared with what the test expects. The state is
 * folded anew each time a body runs, because `evolve` may update its maps in place.
 */
export function spec<Command, Event, State>(
  decider: Decider<Command, Event, State>,
): Spec<Command, Event> {
  return {
    given: (events) => ({
      when: (command) => {
        const decide = () => decider.decide(command, fold(decider, events))

        return {
          then: (expected) => async (t) => {
            t.strictSame(decide(), expected, 'decides the expected events')
          },

          thenThrows: (code, details) => async (t) => {
            const err = t.throws(decide, { code }, `refuses with ${code}`)
            if (!err) return

            t.type(err, DomainError, 'as a DomainError')
            if (details) t.match((err as DomainError).details, details, 'with these details')
          },

          thenNothing: () => async (t) => {
            t.strictSame(decide(), [], 'decides no events')
          },
        }
      },
    }),
  }
}
