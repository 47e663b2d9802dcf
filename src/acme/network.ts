import type { Agent as HttpsAgent } from 'node:https';
import * as acme from 'acme-client';
import { proxyFor } from '../net/proxy.ts';
import { getWithin, UnreachableError } from '../net/reach.ts';
import { ProxyAwareHttpAgent, ProxyAwareHttpsAgent } from '../net/tunnel.ts';

/**
 * How acme-client's one axios instance reaches CAs. The proxy environment is src/net's reading (axios's own,
 * which exempts loopback by itself, is switched off per request), the environment is the command's (the CLI's
 * `io.env`, the process's for a rotation), and every request has a bounded time.
 */
let proxyEnv: NodeJS.ProcessEnv = process.env;
let installed = false;
const tunnelled = new WeakMap<object, ProxyAwareHttpsAgent>();
const plainTunnelled = new ProxyAwareHttpAgent({ keepAlive: true }, () => proxyEnv);
const NO_AGENT = {};

function tunnellingAgent(base: HttpsAgent | undefined): ProxyAwareHttpsAgent {
  const key = base ?? NO_AGENT;
  let agent = tunnelled.get(key);
  if (!agent) {
    // The base agent's TLS options (a test CA's `ca`, say) apply to the CA behind the tunnel too.
    agent = new ProxyAwareHttpsAgent({ ...base?.options, keepAlive: true }, () => proxyEnv);
    tunnelled.set(key, agent);
  }
  return agent;
}

type Settings = { acmeSettings: { retryMaxAttempts: number } };

export function useAcmeNetwork(options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): void {
  proxyEnv = options.env ?? process.env;
  if (options.timeoutMs !== undefined) acme.axios.defaults.timeout = options.timeoutMs;
  // Retries are ours (bounded waits); acme-client's own sleep 5+10+15+20+25 s on a network error, then hide it.
  (acme.axios.defaults as unknown as Settings).acmeSettings.retryMaxAttempts = 0;
  if (installed) return;
  installed = true;
  acme.axios.interceptors.request.use((config) => {
    config.proxy = false;
    const url = new URL(config.url ?? '', config.baseURL);
    if (proxyFor(url, proxyEnv)) {
      if (url.protocol === 'https:') config.httpsAgent = tunnellingAgent(config.httpsAgent as HttpsAgent);
      else config.httpAgent = plainTunnelled;
    }
    return config;
  });
}

/** The TLS options acme-client's requests use (a lab sets a CA's root on the axios instance's agent). */
function acmeTlsOptions(): HttpsAgent['options'] | undefined {
  return (acme.axios.defaults.httpsAgent as HttpsAgent | undefined)?.options;
}

/** Fetches an ACME directory once, within `timeoutMs`, the way acme-client will (same TLS options and proxy). */
export async function reachDirectory(
  directoryUrl: string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const tls = acmeTlsOptions();
  const answer = await getWithin(directoryUrl, {
    timeoutMs,
    env: proxyEnv,
    accept: 'application/json',
    ...(tls ? { tls } : {}),
  });
  if (answer.status >= 400)
    throw new UnreachableError(directoryUrl, `HTTP_${answer.status}`, `it answered HTTP ${answer.status}`);
  let directory: unknown;
  try {
    directory = JSON.parse(answer.body);
  } catch {
    directory = undefined;
  }
  if (
    !directory ||
    typeof directory !== 'object' ||
    typeof (directory as { newAccount?: unknown }).newAccount !== 'string'
  )
    throw new Error(
      `${directoryUrl} is not an ACME directory (RFC 8555 §7.1.1: no newAccount URL in its answer)`,
    );
  return directory as Record<string, unknown>;
}

/**
 * Why a CA cannot be reached, or undefined when it answers: asked once more, the way acme-client asks, because
 * acme-client reads `response.config` of a request that got no response and throws a TypeError that hides the
 * cause.
 */
export async function unreachableCause(directoryUrl: string, timeoutMs: number): Promise<string | undefined> {
  try {
    await reachDirectory(directoryUrl, timeoutMs);
    return undefined;
  } catch (error) {
    return error instanceof UnreachableError ? error.reason : (error as Error).message;
  }
}

/** acme-client's TypeError for a request that got no response at all (see unreachableCause). */
export function isHiddenNetworkError(error: unknown): boolean {
  return error instanceof TypeError && /reading 'config'/.test(error.message);
}
