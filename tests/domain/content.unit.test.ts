import t from 'tap'
import { MAX_TEXT_LENGTH } from '../../src/domain/content/schema'
import { validateContent } from '../../src/domain/content/validate'
import { DomainError } from '../../src/domain/shared/errors'

/** Asserts that `value` is refused as invalid_content with a message matching `message`. */
function refuses(t: tap.Test, value: unknown, message: RegExp): void {
  const err = t.throws(() => validateContent(value), { code: 'invalid_content', message })
  if (err) t.type(err, DomainError)
}

t.test('text', async (t) => {
  t.test('accepts text from 1 to MAX_TEXT_LENGTH characters', async (t) => {
    t.equal(MAX_TEXT_LENGTH, 5_000)
    for (const text of ['a', 'hello', 'a'.repeat(MAX_TEXT_LENGTH)]) {
      t.strictSame(validateContent({ format: 'text', text }), { format: 'text', text })
    }
  })

  t.test('refuses empty text', async (t) => {
    refuses(t, { format: 'text', text: '' }, /^content\.text /)
  })

  t.test('refuses text one character too long', async (t) => {
    refuses(t, { format: 'text', text: 'a'.repeat(MAX_TEXT_LENGTH + 1) }, /^content\.text .*5000/)
  })

  t.test('refuses a text message without text, naming the field', async (t) => {
    refuses(t, { format: 'text' }, /'text'/)
  })

  t.test('refuses text that is not a string', async (t) => {
    refuses(t, { format: 'text', text: 42 }, /^content\.text /)
  })

  // MAX_TEXT_LENGTH counts characters (code points): an emoji is one, as a person counts it.
  t.test('counts text length in characters, so an emoji counts once', async (t) => {
    const emoji = '\u{1F600}'
    t.equal(emoji.length, 2)
    t.ok(validateContent({ format: 'text', text: emoji.repeat(MAX_TEXT_LENGTH) }))
    t.ok(validateContent({ format: 'text', text: 'a'.repeat(MAX_TEXT_LENGTH - 1) + emoji }))
    refuses(t, { format: 'text', text: emoji.repeat(MAX_TEXT_LENGTH + 1) }, /^content\.text /)
  })
})

t.test('image', async (t) => {
  t.test('accepts an http or https url with optional size and caption', async (t) => {
    const values = [
      { format: 'image', url: 'https://cdn.example.com/a.png' },
      { format: 'image', url: 'http://cdn.example.com/a.png', width: 640, height: 480, text: 'hi' },
    ]
    for (const value of values) t.strictSame(validateContent(value), value)
  })

  t.test('refuses a url that is not http(s)', async (t) => {
    for (const url of ['ftp://example.com/a.png', 'javascript:alert(1)', '/a.png', 'https://a b']) {
      refuses(t, { format: 'image', url }, /^content\.url /)
    }
  })

  t.test('refuses an image without a url', async (t) => {
    refuses(t, { format: 'image' }, /'url'/)
  })

  t.test('refuses a width below 1', async (t) => {
    refuses(t, { format: 'image', url: 'https://example.com/a.png', width: 0 }, /^content\.width /)
  })
})

t.test('video', async (t) => {
  t.test('accepts a url with optional duration, cover and caption', async (t) => {
    const value = {
      format: 'video',
      url: 'https://example.com/v.mp4',
      durationSec: 12.5,
      coverUrl: 'https://example.com/v.jpg',
      text: 'unboxing',
    }
    t.strictSame(validateContent(value), value)
  })

  t.test('refuses a cover url that is not http(s)', async (t) => {
    const value = { format: 'video', url: 'https://example.com/v.mp4', coverUrl: 'data:x' }
    refuses(t, value, /^content\.coverUrl /)
  })

  t.test('refuses a negative duration', async (t) => {
    const value = { format: 'video', url: 'https://example.com/v.mp4', durationSec: -1 }
    refuses(t, value, /^content\.durationSec /)
  })
})

t.test('order_card', async (t) => {
  const card = { format: 'order_card', orderId: 'o-1', title: 'Running shoes' }

  t.test('accepts a card with optional price, currency, image and text', async (t) => {
    const full = {
      ...card,
      priceCents: 4_200,
      currency: 'EUR',
      imageUrl: 'https://example.com/shoes.png',
      text: 'your order',
    }
    t.strictSame(validateContent(card), card)
    t.strictSame(validateContent(full), full)
  })

  t.test('refuses a currency that is not three capital letters', async (t) => {
    for (const currency of ['eur', 'EURO', 'EU', '€UR']) {
      refuses(t, { ...card, currency }, /^content\.currency /)
    }
  })

  t.test('refuses a price that is not whole cents', async (t) => {
    refuses(t, { ...card, priceCents: 1.5 }, /^content\.priceCents /)
  })

  t.test('refuses a card without a title', async (t) => {
    refuses(t, { format: 'order_card', orderId: 'o-1' }, /'title'/)
  })
})

t.test('coupon', async (t) => {
  const coupon = { format: 'coupon', couponId: 'k-1', title: '10% off' }

  t.test('accepts a coupon with an RFC 3339 expiry', async (t) => {
    const full = {
      ...coupon,
      amountCents: 500,
      currency: 'USD',
      expiresAt: '2030-12-31T23:59:59Z',
      text: 'for you',
    }
    t.strictSame(validateContent(full), full)
    t.ok(validateContent({ ...coupon, expiresAt: '2030-12-31T23:59:59.123+08:00' }))
  })

  t.test('refuses an expiry that is not a date-time', async (t) => {
    for (const expiresAt of ['2030-12-31', 'tomorrow', '2030-13-01T00:00:00Z']) {
      refuses(t, { ...coupon, expiresAt }, /^content\.expiresAt .*date-time/)
    }
  })

  t.test('refuses a lowercase currency', async (t) => {
    refuses(t, { ...coupon, currency: 'usd' }, /^content\.currency /)
  })
})

t.test('every format', async (t) => {
  t.test('refuses an unknown or missing format, listing the known ones', async (t) => {
    for (const value of [{ format: 'audio' }, {}, { format: 7 }, { format: null }]) {
      refuses(t, value, /^content\.format must be one of text, image, video, order_card, coupon$/)
    }
  })

  t.test('refuses a property the format does not have, naming it', async (t) => {
    refuses(t, { format: 'text', text: 'hi', bold: true }, /^content .*\(bold\)$/)
    refuses(t, { format: 'image', url: 'https://example.com/a.png', alt: 'x' }, /\(alt\)$/)
  })

  t.test('refuses content that is not an object', async (t) => {
    for (const value of [null, undefined, 'hello', 42, true, [], [{ format: 'text', text: 'a' }]]) {
      refuses(t, value, /^content must be an object$/)
    }
  })

  t.test('tells which format was meant in the details', async (t) => {
    const err = t.throws(() => validateContent({ format: 'coupon', couponId: 'k-1' }))
    t.match(err, { code: 'invalid_content', details: { format: 'coupon' } })
  })
})
