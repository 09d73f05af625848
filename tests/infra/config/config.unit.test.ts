import t from 'tap'
import {
  DEFAULT_ACK_MAX_ATTEMPTS,
  DEFAULT_ACK_TIMEOUT_MS,
} from '../../../src/domain/delivery/backoff'
import { DEFAULT_AGENT_SEATS } from '../../../src/domain/desk/desk'
import {
  DEFAULT_LEAVE_AFTER_MS,
  DEFAULT_OFFLINE_AFTER_MS,
  DEFAULT_PRESENCE_TICK_MS,
} from '../../../src/domain/presence/thresholds'
import {
  ConfigError,
  DEFAULT_DATA_DIR,
  DEFAULT_HOST,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MONGODB_DB,
  DEFAULT_NODE_ID,
  DEFAULT_PORT,
  DEFAULT_RATE_LIMIT_BURST,
  DEFAULT_RATE_LIMIT_PER_SECOND,
  loadConfig,
} from '../../../src/infra/config/config'
import { ParleyError } from '../../../src/domain/shared/errors'

const SECRET = 'x'.repeat(40)

function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('loadConfig accepted a bad environment')
}

t.test('uses the documented defaults when nothing is set', async (t) => {
  t.strictSame(loadConfig({}), {
    port: DEFAULT_PORT,
    host: DEFAULT_HOST,
    dataDir: DEFAULT_DATA_DIR,
    authSecret: undefined,
    ackTimeoutMs: DEFAULT_ACK_TIMEOUT_MS,
    ackMaxAttempts: DEFAULT_ACK_MAX_ATTEMPTS,
    agentSeats: DEFAULT_AGENT_SEATS,
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    rateLimit: { perSecond: DEFAULT_RATE_LIMIT_PER_SECOND, burst: DEFAULT_RATE_LIMIT_BURST },
    nodeId: DEFAULT_NODE_ID,
    logLevel: 'info',
    offlineAfterMs: DEFAULT_OFFLINE_AFTER_MS,
    leaveAfterMs: DEFAULT_LEAVE_AFTER_MS,
    presenceTickMs: DEFAULT_PRESENCE_TICK_MS,
    eventStoreUrl: undefined,
    mongodbUrl: undefined,
    mongodbDb: DEFAULT_MONGODB_DB,
  })
  t.equal(DEFAULT_PORT, 8080)
  t.equal(DEFAULT_HOST, '0.0.0.0')
  t.equal(DEFAULT_RATE_LIMIT_PER_SECOND, 20)
  t.equal(DEFAULT_RATE_LIMIT_BURST, 40)
})

t.test('reads every variable it knows', async (t) => {
  const config = loadConfig({
    PORT: '9000',
    HOST: '127.0.0.1',
    PARLEY_DATA_DIR: '/var/lib/parley',
    PARLEY_AUTH_SECRET: SECRET,
    PARLEY_ACK_TIMEOUT_MS: '250',
    PARLEY_ACK_MAX_ATTEMPTS: '3',
    PARLEY_AGENT_SEATS: '12',
    PARLEY_MAX_FRAME_BYTES: '4096',
    PARLEY_RATE_LIMIT: '5/s,burst=15',
    PARLEY_NODE_ID: '1023',
    PARLEY_LOG_LEVEL: 'debug',
    PARLEY_OFFLINE_AFTER_MS: '10000',
    PARLEY_LEAVE_AFTER_MS: '60000',
    PARLEY_PRESENCE_TICK_MS: '500',
    PARLEY_EVENTSTORE_URL: 'esdb://localhost:2113?tls=false',
    PARLEY_MONGODB_URL: 'mongodb://localhost:27017',
    PARLEY_MONGODB_DB: 'parley_test',
  })

  t.strictSame(config, {
    port: 9000,
    host: '127.0.0.1',
    dataDir: '/var/lib/parley',
    authSecret: SECRET,
    ackTimeoutMs: 250,
    ackMaxAttempts: 3,
    agentSeats: 12,
    maxFrameBytes: 4096,
    rateLimit: { perSecond: 5, burst: 15 },
    nodeId: 1023,
    logLevel: 'debug',
    offlineAfterMs: 10_000,
    leaveAfterMs: 60_000,
    presenceTickMs: 500,
    eventStoreUrl: 'esdb://localhost:2113?tls=false',
    mongodbUrl: 'mongodb://localhost:27017',
    mongodbDb: 'parley_test',
  })
})

t.test('treats an empty or blank variable as unset', async (t) => {
  const config = loadConfig({ PORT: '', PARLEY_AUTH_SECRET: '  ', PARLEY_RATE_LIMIT: '' })

  t.equal(config.port, DEFAULT_PORT)
  t.equal(config.authSecret, undefined)
  t.strictSame(config.rateLimit, { perSecond: 20, burst: 40 })
})

t.test('accepts port 0 so tests can ask for a free port', async (t) => {
  t.equal(loadConfig({ PORT: '0' }).port, 0)
})

t.test('defaults the burst to twice the rate when only the rate is given', async (t) => {
  t.strictSame(loadConfig({ PARLEY_RATE_LIMIT: '10/s' }).rateLimit, { perSecond: 10, burst: 20 })
  t.strictSame(loadConfig({ PARLEY_RATE_LIMIT: ' 7 / s , burst = 7 ' }).rateLimit, {
    perSecond: 7,
    burst: 7,
  })
})

t.test('accepts the discover and srv forms of the store urls', async (t) => {
  const config = loadConfig({
    PARLEY_EVENTSTORE_URL: 'esdb+discover://cluster.example:2113',
    PARLEY_MONGODB_URL: 'mongodb+srv://user:pw@cluster.example/',
  })

  t.equal(config.eventStoreUrl, 'esdb+discover://cluster.example:2113')
  t.equal(config.mongodbUrl, 'mongodb+srv://user:pw@cluster.example/')
})

t.test('names every bad variable, its value and what was expected, all at once', async (t) => {
  const err = configErrorOf({
    PORT: '80a',
    PARLEY_ACK_TIMEOUT_MS: '-5',
    PARLEY_ACK_MAX_ATTEMPTS: '0',
    PARLEY_AGENT_SEATS: '1001',
    PARLEY_MAX_FRAME_BYTES: '12.5',
    PARLEY_RATE_LIMIT: '20 per second',
    PARLEY_NODE_ID: '1024',
    PARLEY_LOG_LEVEL: 'verbose',
    PARLEY_OFFLINE_AFTER_MS: 'soon',
    PARLEY_LEAVE_AFTER_MS: '99999999999',
    PARLEY_PRESENCE_TICK_MS: '0',
    PARLEY_EVENTSTORE_URL: 'http://localhost:2113',
    PARLEY_MONGODB_URL: 'localhost:27017',
    PARLEY_MONGODB_DB: 'my.db',
  })

  t.ok(err instanceof ParleyError)
  t.equal(err.code, 'config_invalid')
  t.equal(err.problems.length, 14)
  t.strictSame(err.details, { problems: err.problems })
  t.match(err.message, 'PORT: got "80a", expected an integer from 0 to 65535')
  t.match(err.message, 'PARLEY_ACK_TIMEOUT_MS: got "-5", expected an integer from 1 to')
  t.match(err.message, 'PARLEY_ACK_MAX_ATTEMPTS: got "0"')
  t.match(err.message, 'PARLEY_AGENT_SEATS: got "1001", expected an integer from 1 to 1000')
  t.match(err.message, 'PARLEY_MAX_FRAME_BYTES: got "12.5"')
  t.match(err.message, 'PARLEY_RATE_LIMIT: got "20 per second", expected "<rate>/s"')
  t.match(err.message, 'PARLEY_NODE_ID: got "1024", expected an integer from 0 to 1023')
  t.match(err.message, 'PARLEY_LOG_LEVEL: got "verbose", expected one of trace, debug, info')
  t.match(err.message, 'PARLEY_OFFLINE_AFTER_MS: got "soon"')
  t.match(err.message, 'PARLEY_LEAVE_AFTER_MS: got "99999999999"')
  t.match(err.message, 'PARLEY_PRESENCE_TICK_MS: got "0"')
  t.match(err.message, 'PARLEY_EVENTSTORE_URL: got "http://localhost:2113", expected')
  t.match(err.message, 'PARLEY_MONGODB_URL: got "localhost:27017", expected')
  t.match(err.message, 'PARLEY_MONGODB_DB: got "my.db", expected a MongoDB database name')
})

t.test('refuses a burst smaller than the rate', async (t) => {
  const err = configErrorOf({ PARLEY_RATE_LIMIT: '20/s,burst=10' })

  t.strictSame(err.problems, [
    'PARLEY_RATE_LIMIT: got "20/s,burst=10", expected "<rate>/s" or "<rate>/s,burst=<burst>" ' +
      'with 1 <= rate <= burst',
  ])
})

t.test('refuses a short auth secret without echoing it', async (t) => {
  const err = configErrorOf({ PARLEY_AUTH_SECRET: 'hunter2-is-my-password' })

  t.strictSame(err.problems, [
    'PARLEY_AUTH_SECRET: got a 22-character value, expected at least 32 characters',
  ])
  t.notMatch(err.message, 'hunter2')
})

t.test('masks credentials in a bad connection string', async (t) => {
  const err = configErrorOf({ PARLEY_MONGODB_URL: 'postgres://admin:s3cret@db.example/x' })

  t.match(err.message, 'got "postgres://***@db.example/x"')
  t.notMatch(err.message, 's3cret')
})
