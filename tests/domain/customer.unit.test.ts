import t from 'tap'
import {
  type CustomerCommand,
  type CustomerEvent,
  customerDecider,
} from '../../src/domain/customer/customer'
import { fold } from '../../src/domain/shared/decider'
import { spec } from './decider-spec'

const { given } = spec(customerDecider)

const USER_ID = 'user-1'
const AT = 1_000

const started = (conversationId: string): CustomerEvent => ({
  type: 'CustomerConversationStarted',
  data: { userId: USER_ID, conversationId, at: AT },
})

const start = (conversationId: string, currentClosed = false): CustomerCommand => ({
  type: 'StartConversation',
  userId: USER_ID,
  conversationId,
  currentClosed,
  now: AT,
})

t.test(
  'starts the first conversation of a new customer',
  given([])
    .when(start('c-1'))
    .then([started('c-1')]),
)

t.test(
  'starts the first conversation whatever the handler says of a current one',
  given([])
    .when(start('c-1', true))
    .then([started('c-1')]),
)

t.test(
  'does nothing while the current conversation is still open',
  given([started('c-1')])
    .when(start('c-2'))
    .thenNothing(),
)

t.test(
  'starts a new conversation once the current one has closed',
  given([started('c-1')])
    .when(start('c-2', true))
    .then([started('c-2')]),
)

t.test('points at the latest conversation started', async (t) => {
  t.strictSame(fold(customerDecider, []), { currentConversationId: null })
  t.strictSame(fold(customerDecider, [started('c-1'), started('c-2')]), {
    currentConversationId: 'c-2',
  })
})
