import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import * as acme from 'acme-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { route53Provider } from '../../src/dns/route53-provider.ts';
import { githubClient } from '../../src/github/github-client.ts';
import { postJson } from '../../src/notify/post.ts';
import { httpsCall, spkiSha256 } from '../../src/platforms/shared/https-client.ts';
import { runCli } from '../helpers/cli.ts';
import {
  DELEGATE_ZONE,
  DELEGATE_ZONE_ID,
  type DnsLab,
  LAB_CREDENTIALS,
  startDnsLab,
} from '../lab/dns/lab.ts';
import { GitHubEmulator } from '../lab/github/emulator.ts';
import { type Pebble, startPebble } from '../lab/pebble/pebble.ts';
import { type LabProxy, startTinyproxy, TINYPROXY_BINARY } from '../lab/proxy/tinyproxy.ts';
import { writeSelfSigned } from '../lab/self-signed.ts';

// Each client of src/ that leaves the machine, sent through a real proxy (Debian's tinyproxy) when HTTPS_PROXY /
// HTTP_PROXY name it, and straight to the server when NO_PROXY exempts the server's address.
const PROXY_PASSWORD = 'pr0xy-Secret-42';
let proxy: LabProxy;
let authProxy: LabProxy;
let pebble: Pebble;
let dns: DnsLab;
let github: GitHubEmulator;
let webhook: Server;
let webhookHits = 0;
let device: TlsServer;
let devicePin: string;
const dirs: string[] = [];

const portOf = (url: string) => new URL(url).port;

beforeAll(async () => {
  if (!existsSync(TINYPROXY_BINARY))
    throw new Error("this test runs Debian's tinyproxy: sudo apt-get install -y tinyproxy");
  [proxy, authProxy, pebble, dns] = await Promise.all([
    startTinyproxy(),
    startTinyproxy({ auth: { user: 'runner', password: PROXY_PASSWORD } }),
    startPebble({ dnsServer: '127.0.0.1:1' }),
    startDnsLab(),
  ]);
  acme.axios.defaults.httpsAgent = pebble.agent;
  github = new GitHubEmulator();
  await github.start();
  github.addRepo('acme-corp', 'certs', {});
  webhook = createHttpServer((req, res) => {
    webhookHits++;
    req.resume();
    req.on('end', () => res.writeHead(200).end('ok'));
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'ottr-proxy-device-'));
  dirs.push(dir);
  writeSelfSigned(['fw-lab.example.com'], join(dir, 'key.pem'), join(dir, 'cert.pem'));
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  devicePin = spkiSha256(new X509Certificate(cert));
  device = createTlsServer({ cert, key: readFileSync(join(dir, 'key.pem'), 'utf8') }, (socket) => {
    socket.once('data', () =>
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\ndevice'),
    );
  });
  await new Promise<void>((resolve) => device.listen(0, '127.0.0.1', resolve));
}, 60_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all([proxy?.stop(), authProxy?.stop(), pebble?.stop(), dns?.stop(), github?.stop()]);
  webhook?.close();
  device?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
  proxy.clear();
  authProxy.clear();
});

/** The process environment the clients that read it see: the proxy for both schemes, and NO_PROXY if given. */
function stubProxyEnv(url: string, noProxy?: string): void {
  for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy', 'NO_PROXY', 'no_proxy'])
    vi.stubEnv(name, undefined);
  vi.stubEnv('HTTPS_PROXY', url);
  vi.stubEnv('HTTP_PROXY', url);
  if (noProxy !== undefined) vi.stubEnv('NO_PROXY', noProxy);
}

const register = (env: NodeJS.ProcessEnv) =>
  runCli(
    ['acme', 'register', '--authority', 'lets_encrypt', '--directory', pebble.directoryUrl],
    undefined,
    env,
  );

describe('ACME (acme-client over axios)', () => {
  it('registers through HTTPS_PROXY with a CONNECT tunnel, and directly when NO_PROXY names the CA', async () => {
    const through = await register({ HTTPS_PROXY: proxy.url });
    expect(through.code, through.stderr).toBe(0);
    expect(proxy.tunnels()).toContain(`127.0.0.1:${portOf(pebble.directoryUrl)}`);
    expect(proxy.forwarded()).toEqual([]); // never the absolute-form GET https://… that axios once sent

    proxy.clear();
    const direct = await register({ HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' });
    expect(direct.code, direct.stderr).toBe(0);
    expect(proxy.tunnels()).toEqual([]);
  });

  it('sends the proxy credentials only to the proxy and never prints them, even when refused', async () => {
    const refused = await register({
      HTTPS_PROXY: `http://runner:wrong-${PROXY_PASSWORD}@127.0.0.1:${authProxy.port}`,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /cannot reach https:\/\/127\.0\.0\.1:\d+\/dir: the proxy http:\/\/127\.0\.0\.1:\d+ refused a tunnel to 127\.0\.0\.1:\d+: HTTP 401 Unauthorized \(check the user and password/,
    );
    expect(refused.output).not.toContain(PROXY_PASSWORD);
    expect(refused.output).not.toContain('runner:');

    const none = await register({ HTTPS_PROXY: `http://127.0.0.1:${authProxy.port}` });
    expect(none.stderr).toMatch(
      /refused a tunnel to 127\.0\.0\.1:\d+: HTTP 407 Proxy Authentication Required/,
    );

    const ok = await register({ HTTPS_PROXY: authProxy.url });
    expect(ok.code, ok.stderr).toBe(0);
    expect(authProxy.tunnels()).toContain(`127.0.0.1:${portOf(pebble.directoryUrl)}`);
    expect(ok.output).not.toContain(PROXY_PASSWORD);
  });

  it('names a proxy that cannot be reached, without its credentials, within the timeout', async () => {
    const started = Date.now();
    const run = await register({ HTTPS_PROXY: `http://runner:${PROXY_PASSWORD}@127.0.0.1:1` });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot reach the proxy http:\/\/127\.0\.0\.1:1: ECONNREFUSED/);
    expect(run.output).not.toContain(PROXY_PASSWORD);
  });
});

describe('AWS SDK (Route53 through the NodeHttpHandler agents)', () => {
  const provider = () =>
    route53Provider({
      hostedZoneId: DELEGATE_ZONE_ID,
      endpoint: dns.route53.endpoint,
      credentials: LAB_CREDENTIALS,
      baseDelayMs: 5,
      maxDelayMs: 50,
    });

  it('goes through HTTP_PROXY to the emulator, and straight to it when NO_PROXY covers 127.0.0.0/8', async () => {
    stubProxyEnv(proxy.url);
    await provider().addTxt(`proxied.${DELEGATE_ZONE}`, 'via-proxy');
    expect(proxy.tunnels()).toContain(`127.0.0.1:${portOf(dns.route53.endpoint)}`);
    expect(dns.store.get(dns.delegate, `proxied.${DELEGATE_ZONE}`, 'TXT')?.values).toEqual(['via-proxy']);

    proxy.clear();
    stubProxyEnv(proxy.url, '127.0.0.0/8');
    await provider().addTxt(`direct.${DELEGATE_ZONE}`, 'direct');
    expect(proxy.tunnels()).toEqual([]);
    expect(dns.store.get(dns.delegate, `direct.${DELEGATE_ZONE}`, 'TXT')?.values).toEqual(['direct']);
  });
});

describe('Octokit (GitHub) through an undici dispatcher', () => {
  it('goes through the proxy for the API, and directly when NO_PROXY names it', async () => {
    const through = githubClient('lab-token', github.url, { HTTP_PROXY: proxy.url });
    const repo = await through.rest.repos.get({ owner: 'acme-corp', repo: 'certs' });
    expect(repo.data.full_name).toBe('acme-corp/certs');
    expect(proxy.tunnels()).toContain(`127.0.0.1:${portOf(github.url)}`);

    proxy.clear();
    const direct = githubClient('lab-token', github.url, {
      HTTP_PROXY: proxy.url,
      NO_PROXY: `127.0.0.1:${portOf(github.url)}`,
    });
    expect((await direct.rest.repos.get({ owner: 'acme-corp', repo: 'certs' })).status).toBe(200);
    expect(proxy.tunnels()).toEqual([]);
  });
});

describe('webhooks (fetch)', () => {
  it('posts through the proxy, and directly when NO_PROXY names the host', async () => {
    const url = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/hook`;
    const options = { label: 'the lab webhook', timeoutMs: 5000, maxRetryWaitMs: 10 };
    stubProxyEnv(proxy.url);
    const hits = webhookHits;
    expect(await postJson(url, '{}', options)).toEqual({ sent: true });
    expect(webhookHits).toBe(hits + 1);
    expect(proxy.tunnels()).toContain(new URL(url).host);

    proxy.clear();
    stubProxyEnv(proxy.url, '127.0.0.1');
    expect(await postJson(url, '{}', options)).toEqual({ sent: true });
    expect(proxy.tunnels()).toEqual([]);

    stubProxyEnv(`http://runner:${PROXY_PASSWORD}@127.0.0.1:1`);
    const down = await postJson(url, '{}', options);
    expect(down.sent).toBe(false);
    expect(JSON.stringify(down)).not.toContain(PROXY_PASSWORD);
  });
});

describe('device HTTPS (the management-API client)', () => {
  const call = () =>
    httpsCall(
      {
        host: '127.0.0.1',
        port: (device.address() as { port: number }).port,
        servername: 'fw-lab.example.com',
        method: 'GET',
        path: '/',
        timeoutMs: 5000,
      },
      { spkiPins: [devicePin], roots: [], validate: false },
    );

  it('tunnels to the device through HTTPS_PROXY, keeps its pin check, and goes directly when NO_PROXY covers it', async () => {
    stubProxyEnv(proxy.url);
    const through = await call();
    expect(through.body.toString()).toBe('device');
    expect(proxy.tunnels()).toContain(`127.0.0.1:${(device.address() as { port: number }).port}`);

    // The pin is still checked on the far side of the tunnel.
    await expect(
      httpsCall(
        {
          host: '127.0.0.1',
          port: (device.address() as { port: number }).port,
          servername: 'fw-lab.example.com',
          method: 'GET',
          path: '/',
          timeoutMs: 5000,
        },
        { spkiPins: ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='], roots: [], validate: false },
      ),
    ).rejects.toThrow(/not trusted/);

    proxy.clear();
    stubProxyEnv(proxy.url, '10.0.0.0/8, 127.0.0.1');
    expect((await call()).body.toString()).toBe('device');
    expect(proxy.tunnels()).toEqual([]);
  });

  it('reports a proxy that refuses the tunnel without its credentials', async () => {
    stubProxyEnv(`http://runner:wrong-${PROXY_PASSWORD}@127.0.0.1:${authProxy.port}`);
    const error = await call().catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    // tinyproxy answers 401 to wrong credentials and RFC 9110's 407 to none at all (README.md of test/lab/proxy).
    expect((error as Error).message).toMatch(/refused a tunnel to 127\.0\.0\.1:\d+: HTTP 401/);
    expect((error as Error).message).not.toContain(PROXY_PASSWORD);
  });
});
