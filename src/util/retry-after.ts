/**
 * An HTTP Retry-After value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as milliseconds to wait from
 * `now`, never negative; undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
