import t from 'tap'
import { validateContent } from '../../src/domain/content/validate'
import { conversationDecider } from '../../src/domain/conversation/decider'
import { fold } from '../../src/domain/shared/decider'
import { assigned, opened, send, sent } from './conversation-fixtures'

t.test('a client key cannot collide across ids that contain a colon', async (t) => {
  // Given agent `a` sent with key `b:c`, and the conversation then went to agent `a:b`
  const state = fold(conversationDecider, [
    opened(),
    assigned(1, 'a'),
    sent(2, { from: { role: 'agent', id: 'a' }, clientMsgId: 'b:c' }),
    assigned(3, 'a:b'),
  ])

  // When agent `a:b` sends with key `c`
  const events = conversationDecider.decide(
    send(4, { from: { role: 'agent', id: 'a:b' }, clientMsgId: 'c' }),
    { ...state, status: 'open', agentId: 'a:b' },
  )

  // Then it is a new message, not a retry of the other agent's
  t.equal(events.length, 1)
  t.equal(events[0].type, 'MessageSent')
})

t.test('content strings must be well-formed text', async (t) => {
  const refused = [
    { format: 'text', text: '   \n\t ' },
    { format: 'text', text: 'lone \ud800 surrogate' },
    { format: 'text', text: 'nul \u0000 byte' },
    { format: 'order_card', orderId: 'o1', title: 'bell \u0007' },
  ]
  for (const content of refused) {
    t.throws(() => validateContent(content), { code: 'invalid_content' }, JSON.stringify(content))
  }
  const accepted = { format: 'text', text: 'line one\nline two\ttabbed 😀' }
  t.strictSame(validateContent(accepted), accepted)
})
