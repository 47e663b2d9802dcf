import { proxyAwareFetch } from '../net/fetch.ts';
import { done, notYet, poll } from '../util/poll.ts';
import { DnsError } from './errors.ts';
import { resolverFor } from './resolver.ts';

export interface PropagationOptions {
  /** Authoritative nameservers of the delegate zone to ask directly: `ip`, `ip:port` or `[v6]:port`. */
  nameservers: readonly string[];
  check?: 'authoritative' | 'doh' | 'both';
  /** A DNS-over-HTTPS JSON endpoint (`application/dns-json`, as Google and Cloudflare serve it). */
  dohUrl?: string;
  timeoutMs: number;
  /** First wait between polls; doubles up to maxDelayMs. No fixed sleeps: the first poll is immediate. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** Called after each round with the servers that do not show the values yet. */
  onPending?: (pending: string[], attempt: number) => void;
}

export interface PropagationResult {
  ms: number;
  attempts: number;
}

/** What one authoritative server answers for the TXT set at `name` (each record's strings joined). */
async function askServer(server: string, name: string, timeoutMs: number): Promise<string[]> {
  try {
    const records = await resolverFor([server], Math.min(timeoutMs, 2000)).resolveTxt(name);
    return records.map((chunks) => chunks.join(''));
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw error;
  }
}

async function askDoh(url: string, name: string, signal: AbortSignal | undefined): Promise<string[]> {
  const query = new URL(url);
  query.searchParams.set('name', name);
  query.searchParams.set('type', 'TXT');
  const response = await proxyAwareFetch()(query, {
    headers: { accept: 'application/dns-json' },
    ...(signal ? { signal } : {}),
  });
  if (!response.ok) throw new Error(`DoH answered HTTP ${response.status}`);
  const body = (await response.json()) as { Answer?: { type: number; data: string }[] };
  return (body.Answer ?? [])
    .filter((a) => a.type === 16)
    .map((a) => a.data.replace(/^"|"$/g, '').replace(/"\s*"/g, ''));
}

/**
 * Waits until every authoritative nameserver of the delegate zone (and/or the DoH resolver) returns all of
 * `values` at `name`. Polls at once, then with exponential backoff, until the overall timeout; a timeout is a
 * DnsError('timeout') that names the servers still missing the values.
 */
export async function waitForTxt(
  name: string,
  values: readonly string[],
  options: PropagationOptions,
): Promise<PropagationResult> {
  const check = options.check ?? 'authoritative';
  const targets: string[] = [];
  if (check !== 'doh') targets.push(...options.nameservers.map((s) => `ns:${s}`));
  if (check !== 'authoritative') {
    if (!options.dohUrl)
      throw new DnsError('failed', `propagation check "${check}" needs dns.propagation.doh_url`);
    targets.push(`doh:${options.dohUrl}`);
  }
  if (targets.length === 0) throw new DnsError('failed', `no nameservers known for ${name}`);
  let pending = targets;
  const lastSeen = new Map<string, string>();
  const started = Date.now();
  const outcome = await poll(
    async (attempt) => {
      const remaining = options.timeoutMs - (Date.now() - started);
      const results = await Promise.all(
        pending.map(async (target) => {
          try {
            const seen = target.startsWith('ns:')
              ? await askServer(target.slice(3), name, remaining)
              : await askDoh(target.slice(4), name, options.signal);
            lastSeen.set(target, seen.length ? seen.join(', ') : 'no TXT record');
            return values.every((v) => seen.includes(v));
          } catch (error) {
            lastSeen.set(target, `error: ${(error as { code?: string }).code ?? (error as Error).message}`);
            return false;
          }
        }),
      );
      pending = pending.filter((_, i) => !results[i]);
      if (pending.length === 0) return done(undefined);
      options.onPending?.(pending, attempt);
      return notYet(
        pending.map((t) => `${t.replace(/^(ns|doh):/, '')} (${lastSeen.get(t) ?? 'no answer'})`).join('; '),
      );
    },
    {
      timeoutMs: options.timeoutMs,
      initialDelayMs: options.initialDelayMs ?? 50,
      maxDelayMs: options.maxDelayMs ?? 2000,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  if (!outcome.ok)
    throw new DnsError(
      'timeout',
      `TXT at ${name} not visible after ${options.timeoutMs} ms at: ${outcome.reason}`,
    );
  return { ms: outcome.ms, attempts: outcome.attempts };
}
