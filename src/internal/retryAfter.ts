/**
 * A `Retry-After` header in milliseconds from `now`: delta-seconds or an HTTP date
 * (a date in the past is 0); `undefined` when absent, empty or unreadable.
 *
 * @internal
 */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
