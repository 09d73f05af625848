/** How big each scenario runs. `--quick` and the full run are two plans; tests make their own. */
export interface BenchPlan {
  name: string
  fsyncProbe: { count: number }
  throughput: {
    /** User/agent pairs: twice as many sockets. */
    pairs: number
    stepSeconds: number
    drainMs: number
    /** Offered rates (messages per second), tried in order until one does not keep up. */
    parleyRates: number[]
    relayRates: number[]
    /** The measurement at half the knee runs this long. */
    halfKneeSeconds: number
    /** Longest wait for a server to go quiet between steps. */
    settleMs: number
  }
  idle: {
    connections: number
    /** Client processes sharing the connections (each holds at most ~20,000 fds). */
    clientProcesses: number
    heartbeatMs: number
    /** CPU is measured over this window, after every connection has beaten once. */
    windowSeconds: number
  }
  append: {
    writers: number[]
    seconds: number
  }
  replay: {
    events: number
    /** A rebuild still running after this is stopped and its rate taken from its progress. */
    rebuildTimeoutSeconds: number
  }
}

const ladder = (from: number, to: number, factor: number): number[] => {
  const rates: number[] = []
  for (let rate = from; rate <= to; rate = Math.round(rate * factor)) rates.push(rate)
  return rates
}

/** The full run: the sizes, under ten minutes on a 2-core machine. */
export const FULL_PLAN: BenchPlan = {
  name: 'full',
  fsyncProbe: { count: 200 },
  throughput: {
    pairs: 500,
    stepSeconds: 5,
    drainMs: 3000,
    parleyRates: ladder(250, 16_000, 1.5),
    relayRates: ladder(2000, 128_000, 1.5),
    halfKneeSeconds: 10,
    settleMs: 20_000,
  },
  idle: { connections: 10_000, clientProcesses: 4, heartbeatMs: 10_000, windowSeconds: 20 },
  append: { writers: [1, 16, 64], seconds: 3 },
  replay: { events: 1_000_000, rebuildTimeoutSeconds: 150 },
}

/** `--quick`: every scenario, small, in well under two minutes. */
export const QUICK_PLAN: BenchPlan = {
  name: 'quick',
  fsyncProbe: { count: 50 },
  throughput: {
    pairs: 50,
    stepSeconds: 1.5,
    drainMs: 1500,
    parleyRates: ladder(200, 8000, 2),
    relayRates: ladder(1000, 64_000, 2),
    halfKneeSeconds: 2,
    settleMs: 5000,
  },
  idle: { connections: 500, clientProcesses: 2, heartbeatMs: 2000, windowSeconds: 4 },
  append: { writers: [1, 16, 64], seconds: 0.5 },
  replay: { events: 20_000, rebuildTimeoutSeconds: 30 },
}

export type ScenarioName = 'throughput' | 'idle' | 'append' | 'replay'
/** Scenarios whose hot part `--profile` can record. */
export type ProfiledScenario = 'throughput' | 'idle' | 'replay'
export const PROFILED_SCENARIOS: readonly ProfiledScenario[] = ['throughput', 'idle', 'replay']
export const SCENARIOS: readonly ScenarioName[] = ['append', 'replay', 'throughput', 'idle']
