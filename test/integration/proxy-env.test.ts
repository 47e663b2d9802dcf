import { describe, expect, it } from 'vitest';
import {
  bypassesProxy,
  describeProxy,
  ProxyConfigError,
  proxyAuthorization,
  proxyFor,
} from '../../src/net/proxy.ts';

const via = (target: string, env: NodeJS.ProcessEnv) => proxyFor(target, env)?.host;

describe('the proxy environment (src/net/proxy.ts)', () => {
  it('uses HTTPS_PROXY for https:// and HTTP_PROXY for http://, lower case first, with no fallback between them', () => {
    expect(via('https://acme.example.org/dir', { HTTPS_PROXY: 'http://proxy:3128' })).toBe('proxy:3128');
    expect(via('http://acme.example.org/dir', { HTTPS_PROXY: 'http://proxy:3128' })).toBeUndefined();
    expect(via('http://route53.lab/', { HTTP_PROXY: 'proxy:8080' })).toBe('proxy:8080'); // scheme-less is http://
    expect(via('https://x.example/', { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' })).toBe(
      'lower:1',
    );
    expect(via('https://x.example/', { HTTPS_PROXY: '  ' })).toBeUndefined();
    expect(via('https://x.example/', {})).toBeUndefined();
  });

  it('does not exempt loopback by itself: NO_PROXY must name it', () => {
    const env = { HTTPS_PROXY: 'http://proxy:3128' };
    expect(via('https://127.0.0.1:14000/dir', env)).toBe('proxy:3128');
    expect(via('https://localhost/', env)).toBe('proxy:3128');
    expect(via('https://[::1]:8443/', { ...env, NO_PROXY: '::1' })).toBeUndefined();
    expect(via('https://127.0.0.1:14000/dir', { ...env, no_proxy: '127.0.0.1' })).toBeUndefined();
  });

  it('reads NO_PROXY the way curl does: names with their subdomains, .suffix, *.suffix, IPs, CIDRs, host:port, *', () => {
    const bypass = (target: string, noProxy: string) => bypassesProxy(new URL(target), { NO_PROXY: noProxy });
    expect(bypass('https://api.github.com/', 'github.com')).toBe(true);
    expect(bypass('https://github.com/', 'github.com')).toBe(true);
    expect(bypass('https://notgithub.com/', 'github.com')).toBe(false);
    expect(bypass('https://fw1.mgmt.example.com/', '.example.com')).toBe(true);
    expect(bypass('https://fw1.mgmt.example.com/', '*.mgmt.example.com')).toBe(true);
    expect(bypass('https://FW1.Example.COM./', 'example.com')).toBe(true);
    expect(bypass('https://10.20.30.40/', '10.0.0.0/8')).toBe(true);
    expect(bypass('https://11.0.0.1/', '10.0.0.0/8')).toBe(false);
    expect(bypass('https://[fd00::5]/', 'fd00::/8')).toBe(true);
    expect(bypass('https://192.0.2.11/', '192.0.2.11')).toBe(true);
    expect(bypass('https://192.0.2.12/', '192.0.2.11')).toBe(false);
    expect(bypass('https://[0:0:0:0:0:0:0:1]/', '::1')).toBe(true);
    expect(bypass('https://lab.example:8443/', 'lab.example:8443')).toBe(true);
    expect(bypass('https://lab.example:443/', 'lab.example:8443')).toBe(false);
    expect(bypass('https://lab.example/', 'lab.example:443')).toBe(true); // the default port counts
    expect(bypass('https://anything.example/', '*')).toBe(true);
    expect(bypass('https://a.example/', 'b.example, a.example')).toBe(true); // comma and space separated
    expect(bypass('https://a.example/', '')).toBe(false);
  });

  it('refuses a proxy URL it cannot use, and never repeats its credentials', () => {
    const secret = 'hunter2-secret';
    expect(() => proxyFor('https://x.example/', { HTTPS_PROXY: `socks5://me:${secret}@proxy:1080` })).toThrow(
      ProxyConfigError,
    );
    try {
      proxyFor('https://x.example/', { HTTPS_PROXY: `socks5://me:${secret}@proxy:1080` });
    } catch (error) {
      expect((error as Error).message).toBe(
        'HTTPS_PROXY=socks5://proxy:1080: only http:// proxies are supported (HTTPS goes through them with CONNECT)',
      );
    }
    expect(() => proxyFor('https://x.example/', { HTTPS_PROXY: 'http://[bad' })).toThrow(
      /HTTPS_PROXY is not a URL/,
    );
    expect(describeProxy(`http://me:${secret}@proxy.corp:3128`)).toBe('http://proxy.corp:3128');
    expect(describeProxy(`me:${secret}@proxy.corp:3128`)).toBe('http://proxy.corp:3128');
  });

  it('sends percent-encoded credentials decoded, as Basic Proxy-Authorization', () => {
    const proxy = proxyFor('https://x.example/', { HTTPS_PROXY: 'http://svc%40corp:p%3Ass@proxy:3128' })!;
    expect(Buffer.from(proxyAuthorization(proxy)!.replace(/^Basic /, ''), 'base64').toString()).toBe(
      'svc@corp:p:ss',
    );
    expect(
      proxyAuthorization(proxyFor('https://x.example/', { HTTPS_PROXY: 'http://proxy:3128' })!),
    ).toBeUndefined();
  });
});
