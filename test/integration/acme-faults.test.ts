import { Agent } from 'node:https';
import * as acme from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAccount } from '../../src/acme/account.ts';
import { IssuanceError } from '../../src/acme/errors.ts';
import { fetchRenewalInfo, type IssueRequest, issueCertificate } from '../../src/acme/issue.ts';
import { resolverFor } from '../../src/dns/resolver.ts';
import { route53Provider } from '../../src/dns/route53-provider.ts';
import type { Authority, Device } from '../../src/model/types.ts';
import {
  DELEGATE_ZONE,
  DELEGATE_ZONE_ID,
  type DnsLab,
  LAB_CREDENTIALS,
  startDnsLab,
} from '../lab/dns/lab.ts';
import { AcmeProxy } from '../lab/pebble/acme-proxy.ts';
import { type Pebble, startPebble } from '../lab/pebble/pebble.ts';

let lab: DnsLab;
let pebble: Pebble;
let proxy: AcmeProxy;
let accountKeyPem: string;
const authority: Authority = {
  directory: 'https://unused.invalid/dir',
  account_key_secret: 'LAB_ACCOUNT_KEY',
};

beforeAll(async () => {
  lab = await startDnsLab();
  pebble = await startPebble({ dnsServer: lab.server });
  proxy = new AcmeProxy(pebble.directoryUrl, pebble.agent, pebble.tls);
  await proxy.start();
  acme.axios.defaults.httpsAgent = pebble.agent; // the proxy serves Pebble's certificate
  accountKeyPem = (await registerAccount(authority, proxy.directoryUrl, {})).accountKeyPem;
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await pebble?.stop();
  await lab?.stop();
});

let n = 0;
async function job(extra: Partial<IssueRequest> = {}): Promise<IssueRequest> {
  const name = `f${n++}.example.com`;
  lab.addAliases([name]);
  const device: Device = {
    system_name: `f${n}`,
    common_name: name,
    host_platform: 'linux',
    os_version: '12',
    data_center: 'lab',
    certificate_authority: 'lab',
  };
  const [, csr] = await acme.crypto.createCsr(
    { commonName: name, altNames: [name] },
    await acme.crypto.createPrivateEcdsaKey('P-256'),
  );
  return {
    device,
    csrPem: csr.toString(),
    authority,
    directoryUrl: proxy.directoryUrl,
    accountKeyPem,
    dns: {
      provider: route53Provider({
        hostedZoneId: DELEGATE_ZONE_ID,
        endpoint: lab.route53.endpoint,
        credentials: LAB_CREDENTIALS,
        baseDelayMs: 5,
      }),
      delegateZone: DELEGATE_ZONE,
      nameservers: [lab.server],
      propagationTimeoutMs: 5000,
      aliasResolver: resolverFor([lab.server]),
    },
    ...extra,
  };
}

describe('ARI through the lab responder (RFC 9773)', () => {
  it("records the CA's suggested window for the new certificate", async () => {
    const issued = await issueCertificate(await job());
    expect(issued.ari_id).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const lifetime = Date.parse(issued.not_after) - Date.parse(issued.not_before);
    expect(issued.renewal_window).toBeDefined();
    const start = Date.parse(issued.renewal_window!.start);
    expect(Math.abs(start - (Date.parse(issued.not_before) + (2 * lifetime) / 3))).toBeLessThan(2000);
    const info = await fetchRenewalInfo(proxy.directoryUrl, issued.ari_id!);
    expect(info?.retry_after).toBeDefined();
  });

  it('skips ARI when the authority turns it off', async () => {
    const issued = await issueCertificate(await job({ authority: { ...authority, ari: false } }));
    expect(issued.renewal_window).toBeUndefined();
  });
});

describe('CA errors reach the report classified', () => {
  it('a rate limit with a long Retry-After is not waited for', async () => {
    proxy.failNext('rateLimited', { path: /new-order|order-plz/, retryAfter: '3600' });
    const started = Date.now();
    const error = (await issueCertificate(await job()).catch((e: unknown) => e)) as IssuanceError;
    expect(error).toBeInstanceOf(IssuanceError);
    expect(error.errorClass).toBe('ca_rate_limited');
    expect(error.details).toMatchObject({
      status: 429,
      retry_after: '3600',
      problem_type: 'urn:ietf:params:acme:error:rateLimited',
    });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a short Retry-After and a 500 are retried and the issuance succeeds', async () => {
    proxy.failNext('rateLimited', { path: /new-order|order-plz/, retryAfter: '1' });
    proxy.failNext('serverInternal', { path: /finalize/ });
    const issued = await issueCertificate(await job());
    expect(issued.serial).toMatch(/^[0-9a-f]+$/);
  });

  it("a CA whose HTTPS is not trusted is named with the TLS reason, not acme-client's TypeError", async () => {
    const request = await job();
    acme.axios.defaults.httpsAgent = new Agent(); // Node's roots only: Pebble's certificate is unknown to them
    try {
      const error = (await issueCertificate(request).catch((e: unknown) => e)) as IssuanceError;
      expect(error.errorClass).toBe('ca_unavailable');
      expect(error.message).toMatch(
        /^account: the CA at https:\/\/127\.0\.0\.1:\d+\/dir could not be reached: .*certificate.*NODE_EXTRA_CA_CERTS/,
      );
    } finally {
      acme.axios.defaults.httpsAgent = pebble.agent;
    }
  });

  it('a CA that stops answering ends as ca_unavailable after the timeout', async () => {
    proxy.failNext('hang', { path: /finalize/ });
    proxy.failNext('hang', { path: /finalize/ });
    proxy.failNext('hang', { path: /finalize/ });
    const error = (await issueCertificate(await job({ caTimeoutMs: 300 })).catch(
      (e: unknown) => e,
    )) as IssuanceError;
    expect(error.errorClass).toBe('ca_unavailable');
    expect(error.message).toMatch(/^finalize: /);
  });

  it('a badNonce is retried by the client', async () => {
    proxy.failNext('badNonce', { path: /new-order|order-plz/ });
    const issued = await issueCertificate(await job());
    expect(issued.serial).toMatch(/^[0-9a-f]+$/);
  });

  it('a TXT value changed behind our back makes the challenge invalid, and the TXT is still cleaned up', async () => {
    const request = await job();
    const target = `${request.device.common_name}.${DELEGATE_ZONE}`;
    proxy.beforeForward = (method, path) => {
      if (method === 'POST' && /chal/.test(path)) {
        lab.store.put(lab.delegate, {
          name: target,
          type: 'TXT',
          ttl: 60,
          values: ['not-the-key-authorization'],
        });
      }
    };
    const error = (await issueCertificate(request).catch((e: unknown) => e)) as IssuanceError;
    proxy.beforeForward = undefined;
    expect(error.errorClass).toBe('ca_challenge_invalid');
    // Cleanup removes only our own value: the foreign one stays for its owner.
    expect(lab.store.get(lab.delegate, target, 'TXT')?.values).toEqual(['not-the-key-authorization']);
  });
});
