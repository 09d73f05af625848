import type { Content } from '../domain/content/schema'

/** The formats the composer offers, in menu order, with their labels. */
export const COMPOSER_FORMATS = {
  text: 'Text',
  image: 'Image',
  video: 'Video',
  order_card: 'Order card',
  coupon: 'Coupon',
} as const
export type ComposerFormat = keyof typeof COMPOSER_FORMATS

/** The composer's fields as typed: every value a string, empty when left blank. */
export type Draft = Partial<
  Record<
    | 'text'
    | 'url'
    | 'coverUrl'
    | 'width'
    | 'height'
    | 'durationSec'
    | 'orderId'
    | 'couponId'
    | 'title'
    | 'price'
    | 'currency'
    | 'imageUrl'
    | 'expiresAt',
    string
  >
>

/** The label each field shows; problems name fields by it. */
export const FIELD_LABELS: Record<keyof Draft, string> = {
  text: 'Message',
  url: 'URL',
  coverUrl: 'Cover image URL',
  width: 'Width (px)',
  height: 'Height (px)',
  durationSec: 'Duration (s)',
  orderId: 'Order id',
  couponId: 'Coupon code',
  title: 'Title',
  price: 'Amount',
  currency: 'Currency (EUR)',
  imageUrl: 'Image URL',
  expiresAt: 'Expires (2026-12-31T23:59:59Z)',
}

/** Which fields each format asks for; the first ones listed are required. */
export const FORMAT_FIELDS: Record<
  ComposerFormat,
  { required: (keyof Draft)[]; optional: (keyof Draft)[] }
> = {
  text: { required: ['text'], optional: [] },
  image: { required: ['url'], optional: ['text', 'width', 'height'] },
  video: { required: ['url'], optional: ['text', 'coverUrl', 'durationSec'] },
  order_card: {
    required: ['orderId', 'title'],
    optional: ['text', 'price', 'currency', 'imageUrl'],
  },
  coupon: { required: ['couponId', 'title'], optional: ['text', 'price', 'currency', 'expiresAt'] },
}

/** A money amount as typed ("34.99", "34,99", "35") in cents; NaN when it is not one. */
export function parseCents(value: string): number {
  const match = /^\s*(\d+)(?:[.,](\d{1,2}))?\s*$/.exec(value)
  if (!match) return Number.NaN
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'))
}

const filled = (value: string | undefined): value is string =>
  value !== undefined && value.trim() !== ''

/**
 * The content a draft makes, or what is missing or malformed. Only shape is checked here; the
 * server checks the rest (URL schemes, lengths), and a refusal shows as a failed send.
 */
export function buildContent(
  format: ComposerFormat,
  draft: Draft,
): { content: Content } | { problem: string } {
  const missing = FORMAT_FIELDS[format].required.find((field) => !filled(draft[field]))
  if (missing) return { problem: `${FIELD_LABELS[missing]} is required` }

  const out: Record<string, unknown> = { format }
  for (const field of [...FORMAT_FIELDS[format].required, ...FORMAT_FIELDS[format].optional]) {
    const value = draft[field]
    if (!filled(value)) continue
    if (field === 'width' || field === 'height' || field === 'durationSec') {
      const number = Number(value)
      if (!Number.isFinite(number)) return { problem: `${FIELD_LABELS[field]} must be a number` }
      out[field] = number
    } else if (field === 'price') {
      const cents = parseCents(value)
      if (Number.isNaN(cents)) return { problem: `${FIELD_LABELS.price} must look like 34.99` }
      out[format === 'coupon' ? 'amountCents' : 'priceCents'] = cents
    } else if (field === 'currency') {
      out.currency = value.trim().toUpperCase()
    } else {
      out[field] = field === 'text' ? value : value.trim()
    }
  }
  return { content: out as Content }
}
