import { Type, type Static, type TSchema } from '@sinclair/typebox'

/**
 * The message content formats, as JSON schemas. The socket protocol and the HTTP API both use
 * these, so a format is described once. System messages are not content: they are events of
 * the conversation (see the conversation's events).
 */
export const ContentFormat = {
  Text: 'text',
  Image: 'image',
  Video: 'video',
  OrderCard: 'order_card',
  Coupon: 'coupon',
} as const
export type ContentFormat = (typeof ContentFormat)[keyof typeof ContentFormat]

/** Longest display text, in characters (Unicode code points: an emoji counts once). */
export const MAX_TEXT_LENGTH = 5000

const displayText = Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH })
const httpUrl = Type.String({ maxLength: 2048, pattern: '^https?://[^\\s]+$' })
const id = Type.String({ minLength: 1, maxLength: 128 })
const title = Type.String({ minLength: 1, maxLength: 200 })
const cents = Type.Integer({ minimum: 0, maximum: 1e12 })
const currency = Type.String({ pattern: '^[A-Z]{3}$' })
const strict = { additionalProperties: false }

export const TextContent = Type.Object(
  { format: Type.Literal(ContentFormat.Text), text: displayText },
  strict,
)

export const ImageContent = Type.Object(
  {
    format: Type.Literal(ContentFormat.Image),
    url: httpUrl,
    width: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    height: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    text: Type.Optional(displayText),
  },
  strict,
)

export const VideoContent = Type.Object(
  {
    format: Type.Literal(ContentFormat.Video),
    url: httpUrl,
    durationSec: Type.Optional(Type.Number({ minimum: 0, maximum: 86400 })),
    coverUrl: Type.Optional(httpUrl),
    text: Type.Optional(displayText),
  },
  strict,
)

export const OrderCardContent = Type.Object(
  {
    format: Type.Literal(ContentFormat.OrderCard),
    orderId: id,
    title,
    priceCents: Type.Optional(cents),
    currency: Type.Optional(currency),
    imageUrl: Type.Optional(httpUrl),
    text: Type.Optional(displayText),
  },
  strict,
)

export const CouponContent = Type.Object(
  {
    format: Type.Literal(ContentFormat.Coupon),
    couponId: id,
    title,
    amountCents: Type.Optional(cents),
    currency: Type.Optional(currency),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
    text: Type.Optional(displayText),
  },
  strict,
)

/** Every schema by its `format`, so validation can report against the one the sender meant. */
export const contentSchemas: Record<ContentFormat, TSchema> = {
  text: TextContent,
  image: ImageContent,
  video: VideoContent,
  order_card: OrderCardContent,
  coupon: CouponContent,
}

export const Content = Type.Union(
  [TextContent, ImageContent, VideoContent, OrderCardContent, CouponContent],
  { $id: 'Content' },
)
export type Content = Static<typeof Content>
