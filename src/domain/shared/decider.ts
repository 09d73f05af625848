/**
 * The shape of every aggregate in the domain: a pure function from a command and the current
 * state to new events (or a thrown DomainError), and a pure fold of events into state.
 */
export interface Decider<Command, Event, State> {
  decide(command: Command, state: State): Event[]
  evolve(state: State, event: Event): State
  initialState(): State
}

/** Folds events into state with a decider's `evolve`, starting from its initial state. */
export function fold<Event, State>(
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
  events: Iterable<Event>,
): State {
  let state = decider.initialState()
  for (const event of events) state = decider.evolve(state, event)
  return state
}
