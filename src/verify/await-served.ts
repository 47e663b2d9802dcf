import type { X509Certificate } from 'node:crypto';
import { notYet, type PollOutcome, poll } from '../util/poll.ts';
import { fetchServedChain, type TlsEndpoint } from './tls.ts';

export interface AwaitServedOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Good handshakes needed in a row (a reload leaves old workers answering for a moment). Default 1. */
  consecutive?: number;
  /** Pause between the good handshakes of a row. Default 200 ms. */
  confirmSpacingMs?: number;
  /** Per-handshake timeout. Default 5 s. */
  handshakeTimeoutMs?: number;
}

/**
 * Polls the TLS handshake at `endpoint` — never a fixed sleep, backoff 100 ms → 2 s — until `check` accepts the
 * chain served (leaf first) `consecutive` times in a row, or the deadline passes. `check` returns the reason the
 * chain is not right yet, or undefined; a failed handshake counts as "not yet" with its error as the reason.
 * The outcome says which, with the last reason: callers word their own errors.
 */
export function pollServed(
  endpoint: TlsEndpoint,
  check: (chain: X509Certificate[]) => Promise<string | undefined> | string | undefined,
  options: AwaitServedOptions,
): Promise<PollOutcome<X509Certificate[]>> {
  return poll(
    async () => {
      let chain: X509Certificate[];
      try {
        chain = await fetchServedChain(endpoint, options.handshakeTimeoutMs ?? 5000);
      } catch (error) {
        return notYet((error as Error).message);
      }
      if (chain.length === 0) return notYet('no certificate served');
      const reason = await check(chain);
      return reason === undefined ? { done: true, value: chain } : notYet(reason);
    },
    {
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.consecutive ? { consecutive: options.consecutive } : {}),
      ...(options.confirmSpacingMs !== undefined ? { confirmSpacingMs: options.confirmSpacingMs } : {}),
    },
  );
}

/**
 * Waits for a service that restarts (httpd, a web server) until `ready` accepts the leaf it serves (returns
 * undefined); throws "`what` within N ms (last reason)" when the deadline passes.
 */
export async function awaitServed(
  endpoint: TlsEndpoint,
  ready: (leaf: X509Certificate) => Promise<string | undefined> | string | undefined,
  options: { timeoutMs: number; signal: AbortSignal; what: string },
): Promise<{ attempts: number; ms: number }> {
  const outcome = await pollServed(endpoint, (chain) => ready(chain[0]!), options);
  if (!outcome.ok) throw new Error(`${options.what} within ${options.timeoutMs} ms (${outcome.reason})`);
  return { attempts: outcome.attempts, ms: outcome.ms };
}
