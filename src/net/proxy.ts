import { BlockList, isIP } from 'node:net';

/**
 * The one reading of the proxy environment for every network client (ACME, AWS, GitHub, webhooks, DoH, device
 * HTTPS): `HTTPS_PROXY` for https:// targets, `HTTP_PROXY` for http:// targets, `NO_PROXY` for the exceptions.
 * Each is read in lower case first, then upper case (as curl and wget do). Loopback is NOT exempt by itself: a
 * runner whose HTTPS_PROXY is set reaches 127.0.0.1 directly only when NO_PROXY lists it (docs/proxy.md).
 */

export class ProxyConfigError extends Error {
  override name = 'ProxyConfigError';
}

type Env = NodeJS.ProcessEnv;

function envValue(env: Env, name: string): string | undefined {
  const value = env[name.toLowerCase()] ?? env[name];
  return value?.trim() ? value.trim() : undefined;
}

/** `scheme://host:port` of a proxy URL: what messages may say. User and password never leave this module. */
export function describeProxy(proxy: URL | string): string {
  try {
    const url =
      typeof proxy === 'string' ? new URL(proxy.includes('://') ? proxy : `http://${proxy}`) : proxy;
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(an unparsable proxy URL)';
  }
}

function parseProxy(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new ProxyConfigError(`${name} is not a URL (expected http://host:port)`);
  }
  if (url.protocol !== 'http:')
    throw new ProxyConfigError(
      `${name}=${describeProxy(url)}: only http:// proxies are supported (HTTPS goes through them with CONNECT)`,
    );
  if (!url.hostname) throw new ProxyConfigError(`${name} names no host`);
  return url;
}

/** The host of a URL as NO_PROXY compares it: lower case, no brackets around IPv6, no trailing dot. */
function bareHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

function defaultPort(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
}

/** Whether one NO_PROXY entry covers `host:port`: `*`, a name (and its subdomains), `.suffix`, an IP, a CIDR. */
function entryMatches(entry: string, host: string, port: string): boolean {
  if (entry === '*') return true;
  let pattern = entry;
  const portMatch = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(pattern);
  if (portMatch) {
    if (portMatch[2] !== port) return false;
    pattern = portMatch[1]!;
  }
  pattern = bareHost(pattern);
  const slash = pattern.indexOf('/');
  if (slash > 0) {
    const network = pattern.slice(0, slash);
    const prefix = Number(pattern.slice(slash + 1));
    const family = isIP(network);
    const hostFamily = isIP(host);
    if (!family || family !== hostFamily || !Number.isInteger(prefix)) return false;
    const list = new BlockList();
    try {
      list.addSubnet(network, prefix, family === 4 ? 'ipv4' : 'ipv6');
    } catch {
      return false;
    }
    return list.check(host, family === 4 ? 'ipv4' : 'ipv6');
  }
  if (isIP(pattern)) return isIP(host) !== 0 && sameAddress(pattern, host);
  const suffix = pattern.replace(/^\*?\./, '');
  return suffix !== '' && (host === suffix || host.endsWith(`.${suffix}`));
}

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const family = isIP(a);
  if (family !== isIP(b)) return false;
  const list = new BlockList();
  list.addAddress(a, family === 4 ? 'ipv4' : 'ipv6');
  return list.check(b, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether NO_PROXY exempts `target` from the proxy. */
export function bypassesProxy(target: URL, env: Env = process.env): boolean {
  const noProxy = envValue(env, 'NO_PROXY');
  if (!noProxy) return false;
  const host = bareHost(target.hostname);
  const port = defaultPort(target);
  return noProxy
    .split(/[\s,]+/)
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== '')
    .some((entry) => entryMatches(entry, host, port));
}

/** The proxy to reach `target` through, or undefined to connect directly. Throws ProxyConfigError on a bad URL. */
export function proxyFor(target: URL | string, env: Env = process.env): URL | undefined {
  const url = typeof target === 'string' ? new URL(target) : target;
  const name =
    url.protocol === 'https:' ? 'HTTPS_PROXY' : url.protocol === 'http:' ? 'HTTP_PROXY' : undefined;
  if (!name) return undefined;
  const value = envValue(env, name);
  if (!value || bypassesProxy(url, env)) return undefined;
  return parseProxy(name, value);
}

/** Whether any proxy variable is set at all (clients that cost nothing without one skip their proxy set-up). */
export function proxyConfigured(env: Env = process.env): boolean {
  return envValue(env, 'HTTPS_PROXY') !== undefined || envValue(env, 'HTTP_PROXY') !== undefined;
}

/** The `Proxy-Authorization` value for a proxy URL's user and password, or undefined without them. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}
