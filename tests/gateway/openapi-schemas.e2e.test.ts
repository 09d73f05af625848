import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv from 'ajv'
import addFormats from 'ajv-formats'
import t from 'tap'
import { SCHEMA_DIR, schemaDocuments } from '../../scripts/export-schemas'
import { openConversation, startTestServer, text, uniqueId } from '../support/server'
import { TestClient, type Frame } from '../support/ws-client'

// docs/schemas/: the socket frames and content formats as JSON Schema, exported from the same
// TypeBox schemas the server uses. The committed files must be what the script writes, and what
// a real session sends and accepts must fit them.

const committed = (file: string) => readFileSync(join(SCHEMA_DIR, file), 'utf8')

/** A strict draft-07 validator for one exported file. */
function validatorFor(file: string) {
  const ajv = new Ajv({ strict: true, allErrors: true })
  addFormats(ajv)
  const validate = ajv.compile(JSON.parse(committed(file)) as object)
  return (value: unknown) => (validate(value) ? null : ajv.errorsText(validate.errors))
}

t.test('the committed docs/schemas files are what `npm run export-schemas` writes', async (t) => {
  const generated = schemaDocuments()
  const files = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json'))

  t.same(files.sort(), Object.keys(generated).sort(), 'no file missing, none left over')
  for (const [file, contents] of Object.entries(generated)) {
    t.equal(committed(file), contents, `${file} is up to date (run npm run export-schemas)`)
  }
})

t.test('every frame of a real session fits server-frames.schema.json', async (t) => {
  const server = await startTestServer({ env: { PARLEY_RATE_LIMIT: '1000/s' } })
  t.teardown(() => server.close())
  const check = validatorFor('server-frames.schema.json')

  // An agent with one seat, a first user assigned to them and a second user queued behind.
  const { user, agent, conversationId } = await openConversation(server, { seats: 1 })
  const waiting = await TestClient.connect(server.wsUrl, server.token('user', uniqueId('user')))
  t.teardown(() => Promise.all([user.close(), agent.close(), waiting.close()]))
  waiting.autoAck()
  await waiting.sendMessage({ clientMsgId: uniqueId('m'), content: text('anyone?') })
  await waiting.next((f) => f.type === 'system' && f.event === 'queued')

  await agent.sendMessage({ clientMsgId: uniqueId('m'), conversationId, content: text('hi') })
  await user.next('message')
  await user.sendMessage({ clientMsgId: uniqueId('m'), content: { format: 'gif' } })
  user.send({ type: 'launch' })
  await user.next((f) => f.type === 'error' && f.code === 'bad_frame')
  await user.roundTrip()
  agent.send({ type: 'close', conversationId })
  await user.next((f) => f.type === 'system' && f.event === 'closed')

  const frames: Frame[] = [...user.frames, ...agent.frames, ...waiting.frames]
  for (const frame of frames) {
    t.equal(check(frame), null, `${frame.type} ${String(frame.event ?? frame.code ?? '')}`)
  }
  t.same(
    [...new Set(frames.map((f) => f.type))].sort(),
    ['error', 'heartbeat', 'message', 'sent', 'system'],
    'every kind of server frame was seen',
  )
  t.same([...new Set(frames.filter((f) => f.type === 'system').map((f) => f.event))].sort(), [
    'assigned',
    'closed',
    'queued',
  ])
  t.not(check({ type: 'sent', messageId: '1' }), null, 'a sent frame missing fields is refused')
})

t.test('content.schema.json accepts and refuses what the server does', async (t) => {
  const server = await startTestServer({ env: { PARLEY_RATE_LIMIT: '1000/s' } })
  t.teardown(() => server.close())
  const check = validatorFor('content.schema.json')
  const { user, agent } = await openConversation(server)
  t.teardown(() => Promise.all([user.close(), agent.close()]))

  const samples: unknown[] = [
    { format: 'text', text: 'hello' },
    { format: 'text', text: '' },
    { format: 'text', text: 'x', bold: true },
    { format: 'image', url: 'https://img.example/1.png', width: 640, height: 480 },
    { format: 'image', url: 'ftp://img.example/1.png' },
    { format: 'video', url: 'https://v.example/1.mp4', durationSec: 12.5 },
    { format: 'video', url: 'https://v.example/1.mp4', durationSec: -1 },
    { format: 'order_card', orderId: 'o-1', title: 'Shoes', priceCents: 4999, currency: 'EUR' },
    { format: 'order_card', orderId: 'o-1', title: 'Shoes', currency: 'eur' },
    { format: 'coupon', couponId: 'c-1', title: '10% off', expiresAt: '2030-01-01T00:00:00Z' },
    { format: 'coupon', couponId: 'c-1', title: '10% off', expiresAt: 'next week' },
    { format: 'sticker', id: 'wave' },
  ]
  for (const content of samples) {
    const answer = await user.sendMessage({ clientMsgId: uniqueId('c'), content })
    const accepted = answer.type === 'sent'
    t.equal(check(content) === null, accepted, `${JSON.stringify(content)}: ${answer.type}`)
  }
})

t.test('client-frames.schema.json describes the frames a client may send', async (t) => {
  const check = validatorFor('client-frames.schema.json')
  const good = [
    { type: 'send', clientMsgId: 'tab-1', content: { format: 'text', text: 'hi' } },
    {
      type: 'send',
      clientMsgId: 'tab-2',
      conversationId: '42',
      content: { format: 'text', text: 'a' },
    },
    { type: 'ack', messageIds: ['1', '2'] },
    { type: 'heartbeat' },
    { type: 'close', conversationId: '42' },
  ]
  const bad = [
    { type: 'send', content: { format: 'text', text: 'hi' } },
    { type: 'send', clientMsgId: 'tab-3', content: { format: 'text' } },
    { type: 'ack', messageIds: [] },
    { type: 'close' },
    { type: 'typing' },
  ]
  for (const frame of good) t.equal(check(frame), null, JSON.stringify(frame))
  for (const frame of bad) t.not(check(frame), null, `refuses ${JSON.stringify(frame)}`)
})
