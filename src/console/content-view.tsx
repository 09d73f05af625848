import type { Content } from '../domain/content/schema'
import { dateTime, duration, money, safeUrl } from './format'

type Of<F extends Content['format']> = Extract<Content, { format: F }>

const Caption = ({ text }: { text?: string }) => (text ? <p class="caption">{text}</p> : null)

function ImageView({ content }: { content: Of<'image'> }) {
  const src = safeUrl(content.url)
  if (!src) return <p class="unknown">Image at an address this page does not load: {content.url}</p>
  return (
    <figure class="media image">
      <img
        src={src}
        width={content.width}
        height={content.height}
        alt={content.text ?? 'image'}
        loading="lazy"
      />
      <Caption text={content.text} />
    </figure>
  )
}

function VideoView({ content }: { content: Of<'video'> }) {
  return (
    <figure class="media video">
      <video
        controls
        preload="none"
        src={safeUrl(content.url)}
        poster={safeUrl(content.coverUrl)}
      />
      {content.durationSec !== undefined && (
        <span class="duration">▶ {duration(content.durationSec)}</span>
      )}
      <Caption text={content.text} />
    </figure>
  )
}

function OrderCardView({ content }: { content: Of<'order_card'> }) {
  const image = safeUrl(content.imageUrl)
  return (
    <div class="card order">
      {image && <img class="thumb" src={image} alt="" loading="lazy" />}
      <div class="card-body">
        <span class="card-kind">Order {content.orderId}</span>
        <strong class="card-title">{content.title}</strong>
        {content.priceCents !== undefined && (
          <span class="price">{money(content.priceCents, content.currency)}</span>
        )}
        <Caption text={content.text} />
      </div>
    </div>
  )
}

function CouponView({ content }: { content: Of<'coupon'> }) {
  return (
    <div class="card coupon">
      <div class="card-body">
        <span class="card-kind">Coupon</span>
        <strong class="card-title">{content.title}</strong>
        {content.amountCents !== undefined && (
          <span class="price">{money(content.amountCents, content.currency)} off</span>
        )}
        <code class="code">{content.couponId}</code>
        {content.expiresAt && (
          <span class="expires">valid until {dateTime(content.expiresAt)}</span>
        )}
        <Caption text={content.text} />
      </div>
    </div>
  )
}

/** One message's content in its format; a format this console does not know gets a placeholder. */
export function ContentView({ content }: { content: Content | undefined }) {
  switch (content?.format) {
    case 'text':
      return <p class="text">{content.text}</p>
    case 'image':
      return <ImageView content={content} />
    case 'video':
      return <VideoView content={content} />
    case 'order_card':
      return <OrderCardView content={content} />
    case 'coupon':
      return <CouponView content={content} />
    default:
      return <p class="unknown">This message cannot be shown here.</p>
  }
}
