import type { X509Certificate } from 'node:crypto';
import { sleep } from '../util/sleep.ts';
import { fetchServedChain } from '../verify/tls.ts';
import type { TlsEndpoint } from './contract.ts';

/**
 * Waits for a service that restarts (httpd, a web server) by polling its TLS handshake — never a fixed sleep:
 * backoff 100 ms → 2 s until `ready` accepts the leaf it serves (returns undefined) or the deadline passes.
 * `ready` returns the reason it is not ready yet; the last reason ends the error message.
 */
export async function awaitServed(
  endpoint: TlsEndpoint,
  ready: (leaf: X509Certificate) => Promise<string | undefined> | string | undefined,
  options: { timeoutMs: number; signal: AbortSignal; what: string },
): Promise<{ attempts: number; ms: number }> {
  const started = Date.now();
  let last = 'no answer yet';
  let attempts = 0;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    if (options.signal.aborted) throw options.signal.reason;
    attempts++;
    const leaf = (
      await fetchServedChain(endpoint, 5000).catch((e: Error) => {
        last = e.message;
        return [];
      })
    )[0];
    if (leaf) {
      const reason = await ready(leaf);
      if (reason === undefined) return { attempts, ms: Date.now() - started };
      last = reason;
    }
    if (Date.now() - started > options.timeoutMs)
      throw new Error(`${options.what} within ${options.timeoutMs} ms (${last})`);
    await sleep(delay, options.signal);
  }
}
