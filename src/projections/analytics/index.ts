export { type Distribution, distributionOf, percentile } from './distribution'
export { type AnalyticsEvent, evolveAnalytics } from './evolve'
export {
  type AgentRow,
  type AnalyticsReport,
  type DayRow,
  type DeliveryReport,
  type FormatRow,
  type UnacknowledgedRow,
  analyticsReport,
  analyzeEvents,
} from './report'
export { type AnalyticsState, initialAnalyticsState } from './state'
