import { proxyAwareFetch } from '../net/fetch.ts';
import { retryAfterMs } from '../util/retry-after.ts';
import { sleep } from '../util/sleep.ts';

export interface Delivery {
  sent: boolean;
  reason?: string;
}

export interface PostOptions {
  /** How the target is named in reasons ("the Slack webhook"); never the URL, which is a secret. */
  label: string;
  timeoutMs: number;
  maxRetryWaitMs: number;
  headers?: Record<string, string>;
}

type Attempt = { sent: true } | { sent: false; reason: string; retryAfter?: number };

async function attempt(url: string, body: string, options: PostOptions): Promise<Attempt> {
  const { label, timeoutMs } = options;
  try {
    const response = await proxyAwareFetch()(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body,
      // A redirect would carry the message to a place nobody configured.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.text().catch(() => '');
    if (response.ok) return { sent: true };
    const reason = `${label} answered HTTP ${response.status}`;
    if (response.status !== 429 && response.status < 500) return { sent: false, reason };
    return { sent: false, reason, retryAfter: retryAfterMs(response.headers.get('retry-after')) ?? 1000 };
  } catch (error) {
    const name = (error as { name?: string } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError')
      return { sent: false, reason: `${label} did not answer within ${timeoutMs / 1000} s` };
    const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
    const detail = typeof code === 'string' && /^[A-Z_]+$/.test(code) ? ` (${code})` : '';
    return { sent: false, reason: `${label} could not be reached${detail}` };
  }
}

/**
 * POSTs a JSON body to a webhook; one retry after a 429 or 5xx, waiting what Retry-After asks up to the limit.
 * Never throws, and never names the URL: reasons use the label.
 */
export async function postJson(webhookUrl: string, body: string, options: PostOptions): Promise<Delivery> {
  let url: URL;
  try {
    url = new URL(webhookUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error();
  } catch {
    return { sent: false, reason: `${options.label} is not an http(s) URL` };
  }
  const first = await attempt(url.href, body, options);
  if (first.sent || first.retryAfter === undefined)
    return first.sent ? { sent: true } : { sent: false, reason: first.reason };
  await sleep(Math.min(first.retryAfter, options.maxRetryWaitMs));
  const second = await attempt(url.href, body, options);
  return second.sent ? { sent: true } : { sent: false, reason: `${second.reason} (after one retry)` };
}
