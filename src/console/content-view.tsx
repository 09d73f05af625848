import { useState } from 'preact/hooks'
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

/**
 * A video as its cover with a play button; the player is made only on a click. A `<video>` with
 * `preload="none"` still showed Chromium's loading spinner over its poster, and nothing is
 * fetched from the video's host before the viewer asks for it.
 */
function VideoView({ content }: { content: Of<'video'> }) {
  const [playing, setPlaying] = useState(false)
  const [failed, setFailed] = useState(false)
  const src = safeUrl(content.url)
  const cover = safeUrl(content.coverUrl)
  return (
    <figure class="media video">
      {playing && src ? (
        <video controls autoplay src={src} poster={cover} onError={() => setFailed(true)} />
      ) : (
        <button
          type="button"
          class="video-cover"
          aria-label="Play the video"
          disabled={!src}
          onClick={() => setPlaying(true)}
        >
          {cover && <img src={cover} alt="" loading="lazy" />}
          <span class="play" aria-hidden="true">
            ▶
          </span>
        </button>
      )}
      {!src && <p class="unknown">Video at an address this page does not load: {content.url}</p>}
      {failed && <p class="unknown video-failed">The video could not be loaded.</p>}
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
