/** Display helpers shared by the pages: money, durations, times and safe URLs. */

/** Cents as money: "€34.99" with a currency, "34.99" without. */
export function money(cents: number, currency?: string): string {
  const amount = cents / 100
  if (!currency) return amount.toFixed(2)
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount)
  } catch {
    return `${amount.toFixed(2)} ${currency}`
  }
}

/** Seconds as "m:ss" (or "h:mm:ss"). */
export function duration(seconds: number): string {
  const total = Math.round(seconds)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

/** A time of day for message stamps. */
export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
}

/** A date and time, for coupon expiries and conversation headers. */
export function dateTime(value: number | string): string {
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString()
}

/**
 * The URL when it is http(s), else undefined. The server refuses other schemes already; checking
 * again keeps a `javascript:` URL out of an attribute should a future format loosen the rule.
 */
export function safeUrl(url: string | undefined): string | undefined {
  return url !== undefined && /^https?:\/\//i.test(url) ? url : undefined
}
