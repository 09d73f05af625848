export {
  DEFAULT_EPOCH,
  MAX_WORKER_ID,
  type Snowflake,
  type SnowflakeOptions,
  compareSnowflakes,
  createSnowflake,
  snowflakeTime,
} from './snowflake'
