import { Agent } from 'node:https';
import * as acme from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAccount } from '../../src/acme/account.ts';
import { IssuanceError } from '../../src/acme/errors.ts';
import { fetchRenewalInfo, type IssueRequest, issueCertificate } from '../../src/acme/issuance.ts';
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
async function job(extra: Partial<IssueRequest> = {}, sanLabels: string[] = []): Promise<IssueRequest> {
  const name = `f${n++}.example.com`;
  const sans = sanLabels.map((label) => `${label}.${name}`);
  lab.addAliases([name, ...sans]);
  const device: Device = {
    system_name: `f${n}`,
    common_name: name,
    ...(sans.length > 0 ? { subject_alternative_names: sans } : {}),
    host_platform: 'linux',
    os_version: '12',
    data_center: 'lab',
    certificate_authority: 'lab',
  };
  const [, csr] = await acme.crypto.createCsr(
    { commonName: name, altNames: [name, ...sans] },
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

/** The authorization URLs of the order the CA created for this name (from the newOrder answers the proxy saw). */
function authorizationsOf(name: string): string[] {
  const created = proxy.posts.filter(
    (p) =>
      p.path === '/order-plz' &&
      p.status === 201 &&
      (p.payload as { identifiers?: { value: string }[] }).identifiers?.some((i) => i.value === name),
  );
  expect(created).toHaveLength(1);
  return (created[0]!.body as { authorizations: string[] }).authorizations;
}

/** Deactivation requests (RFC 8555 §7.5.2: a POST with {"status": "deactivated"}) that reached Pebble for a URL. */
function deactivationsOf(url: string) {
  const path = new URL(url).pathname;
  return proxy.posts.filter(
    (p) => p.path === path && (p.payload as { status?: string } | undefined)?.status === 'deactivated',
  );
}

/** The authorization's state as Pebble keeps it, read with a POST-as-GET of our own. */
async function authorizationStatus(url: string): Promise<string> {
  const client = new acme.Client({ directoryUrl: proxy.directoryUrl, accountKey: accountKeyPem });
  await client.createAccount({ onlyReturnExisting: true });
  const [authz] = await client.getAuthorizations({ authorizations: [url] } as acme.Order);
  return authz!.status;
}

async function expectDeactivated(url: string): Promise<void> {
  const posts = deactivationsOf(url);
  expect(posts.length).toBeGreaterThanOrEqual(1);
  expect(posts.at(-1)).toMatchObject({ status: 200, body: { status: 'deactivated' } });
  expect(await authorizationStatus(url)).toBe('deactivated');
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

  it('a challenge the CA finds invalid still has our TXT value removed, and only ours', async () => {
    const request = await job();
    const name = request.device.common_name;
    const target = `${name}.${DELEGATE_ZONE}`;
    const decoy = `decoy-${name}.${DELEGATE_ZONE}`;
    let changed = false;
    proxy.beforeForward = (method, path) => {
      if (changed || method !== 'POST' || !/^\/chalZ\//.test(path)) return;
      changed = true;
      // Behind our back, just before the CA looks: another writer adds its own value to our record set (it must
      // survive our cleanup), and the _acme-challenge CNAME is pointed at a record holding a wrong value, so the
      // CA's lookup (which follows the CNAME) finds no matching key authorization. Our value stays in the set,
      // so a cleanup that is skipped leaves it there and this test fails.
      const ours = lab.store.get(lab.delegate, target, 'TXT');
      expect(ours?.values).toHaveLength(1);
      lab.store.put(lab.delegate, { ...ours!, values: [...ours!.values, 'not-the-key-authorization'] });
      lab.store.put(lab.delegate, { name: decoy, type: 'TXT', ttl: 60, values: ['wrong-value'] });
      lab.store.put(lab.org, { name: `_acme-challenge.${name}`, type: 'CNAME', ttl: 300, values: [decoy] });
    };
    const error = (await issueCertificate(request).catch((e: unknown) => e)) as IssuanceError;
    proxy.beforeForward = undefined;
    expect(changed).toBe(true);
    expect(error.errorClass).toBe('ca_challenge_invalid');
    expect(lab.store.get(lab.delegate, target, 'TXT')?.values).toEqual(['not-the-key-authorization']);
    // The authorization the CA found invalid cannot be deactivated (RFC 8555 §7.1.6) and is not asked to be.
    const [authz] = authorizationsOf(name);
    expect(await authorizationStatus(authz!)).toBe('invalid');
    expect(deactivationsOf(authz!)).toHaveLength(0);
  });
});

describe('a failed order gives up its authorizations (RFC 8555 §7.5.2)', () => {
  it('deactivates the pending authorization after a propagation timeout', async () => {
    const request = await job();
    const target = `${request.device.common_name}.${DELEGATE_ZONE}`;
    lab.store.hidden.add(target);
    request.dns.propagationTimeoutMs = 300;
    const lines: string[] = [];
    request.log = (step, message) => lines.push(`${step}: ${message}`);
    const error = (await issueCertificate(request).catch((e: unknown) => e)) as IssuanceError;
    lab.store.hidden.delete(target);
    expect(error.errorClass).toBe('dns_propagation');
    const [authz] = authorizationsOf(request.device.common_name);
    await expectDeactivated(authz!);
    expect(lines).toContain('order: deactivated 1 authorization(s) of the failed order');
  });

  it('deactivates the other names’ authorizations when one challenge is invalid', async () => {
    const request = await job({}, ['www']);
    const bad = `www.${request.device.common_name}`;
    const decoy = `decoy-${bad}.${DELEGATE_ZONE}`;
    lab.store.put(lab.delegate, { name: decoy, type: 'TXT', ttl: 60, values: ['wrong-value'] });
    let changed = false;
    proxy.beforeForward = (method, path) => {
      if (changed || method !== 'POST' || !/^\/chalZ\//.test(path)) return;
      changed = true;
      lab.store.put(lab.org, { name: `_acme-challenge.${bad}`, type: 'CNAME', ttl: 300, values: [decoy] });
    };
    const error = (await issueCertificate(request).catch((e: unknown) => e)) as IssuanceError;
    proxy.beforeForward = undefined;
    expect(error.errorClass).toBe('ca_challenge_invalid');
    const urls = authorizationsOf(request.device.common_name);
    expect(urls).toHaveLength(2);
    const states = await Promise.all(urls.map(authorizationStatus));
    expect([...states].sort()).toEqual(['deactivated', 'invalid']);
    for (const [i, url] of urls.entries()) {
      if (states[i] === 'invalid') expect(deactivationsOf(url)).toHaveLength(0);
    }
  });

  it('deactivates the valid authorization when the CA fails at finalize', async () => {
    for (let i = 0; i < 3; i++) proxy.failNext('serverInternal', { path: /finalize/ });
    const request = await job();
    const error = (await issueCertificate(request).catch((e: unknown) => e)) as IssuanceError;
    expect(error.errorClass).toBe('ca_unavailable');
    expect(error.message).toMatch(/^finalize: /);
    const [authz] = authorizationsOf(request.device.common_name);
    await expectDeactivated(authz!);
  });

  it('deactivates the authorization when the job is cancelled', async () => {
    const request = await job();
    const target = `${request.device.common_name}.${DELEGATE_ZONE}`;
    lab.store.hidden.add(target);
    request.dns.propagationTimeoutMs = 30_000;
    const controller = new AbortController();
    request.signal = controller.signal;
    setTimeout(() => controller.abort(new Error('job cancelled')), 300);
    const error = (await issueCertificate(request).catch((e: unknown) => e)) as IssuanceError;
    lab.store.hidden.delete(target);
    expect(error.errorClass).toBe('cancelled');
    const [authz] = authorizationsOf(request.device.common_name);
    await expectDeactivated(authz!);
  });

  it('logs a deactivation the CA refuses and still reports the original failure', async () => {
    const deactivation = (p: unknown) => (p as { status?: string } | undefined)?.status === 'deactivated';
    proxy.failNext('serverInternal', { path: /^\/authZ\//, when: deactivation });
    proxy.failNext('serverInternal', { path: /^\/authZ\//, when: deactivation });
    const request = await job();
    const target = `${request.device.common_name}.${DELEGATE_ZONE}`;
    lab.store.hidden.add(target);
    request.dns.propagationTimeoutMs = 300;
    const lines: string[] = [];
    request.log = (step, message) => lines.push(`${step}: ${message}`);
    const error = (await issueCertificate(request).catch((e: unknown) => e)) as IssuanceError;
    lab.store.hidden.delete(target);
    expect(error.errorClass).toBe('dns_propagation');
    const [authz] = authorizationsOf(request.device.common_name);
    expect(deactivationsOf(authz!).map((p) => p.status)).toEqual([500, 500]);
    expect(await authorizationStatus(authz!)).toBe('pending');
    expect(
      lines.some((l) =>
        l.startsWith('order: an authorization of the failed order could not be deactivated: '),
      ),
    ).toBe(true);
  });
});

describe('an ARI "replaces" the CA refuses as already replaced (RFC 9773 §5)', () => {
  it('after a rolled-back renewal, the next order is placed again without replaces, with a warning', async () => {
    const first = await job();
    const original = await issueCertificate(first);
    // A renewal names the original in `replaces` and is issued; then (in the pipeline) its install is rolled
    // back, so the device still serves the original and the next run names it again.
    const renewal = await issueCertificate({ ...first, replaces: original.ari_id! });
    expect(renewal.warnings).toBeUndefined();
    expect(proxy.replaced.has(original.ari_id!)).toBe(true);
    const lines: string[] = [];
    const before = proxy.posts.length;
    const again = await issueCertificate({
      ...first,
      replaces: original.ari_id!,
      log: (step, message) => lines.push(`${step}: ${message}`),
    });
    expect(again.serial).toMatch(/^[0-9a-f]+$/);
    const orders = proxy.posts.slice(before).filter((p) => p.path === '/order-plz');
    expect(orders.map((p) => [p.status, (p.payload as { replaces?: string }).replaces])).toEqual([
      [409, original.ari_id],
      [201, undefined],
    ]);
    expect(orders[0]!.body).toMatchObject({ type: 'urn:ietf:params:acme:error:alreadyReplaced' });
    expect(again.warnings).toHaveLength(1);
    expect(again.warnings![0]).toContain(`"replaces" ${original.ari_id}`);
    expect(again.warnings![0]).toContain('urn:ietf:params:acme:error:alreadyReplaced');
    expect(again.warnings![0]).toContain('ordered again without it');
    expect(lines).toContain(`order: ${again.warnings![0]}`);
  });

  it('places the order again only once', async () => {
    proxy.failNext('alreadyReplaced', { path: /^\/order-plz$/ });
    proxy.failNext('alreadyReplaced', { path: /^\/order-plz$/ });
    const request = await job({ replaces: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE' });
    const before = proxy.posts.length;
    const error = (await issueCertificate(request).catch((e: unknown) => e)) as IssuanceError;
    expect(error.errorClass).toBe('ca_rejected');
    expect(error.details).toMatchObject({
      status: 409,
      problem_type: 'urn:ietf:params:acme:error:alreadyReplaced',
    });
    expect(error.warnings).toEqual([expect.stringContaining('ordered again without it')]);
    const orders = proxy.posts.slice(before).filter((p) => p.path === '/order-plz');
    expect(orders.map((p) => (p.payload as { replaces?: string }).replaces)).toEqual([
      'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
      undefined,
    ]);
  });

  it('does not drop replaces for other refusals', async () => {
    proxy.failNext('rateLimited', { path: /^\/order-plz$/, retryAfter: '3600' });
    const request = await job({ replaces: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE' });
    const before = proxy.posts.length;
    const error = (await issueCertificate(request).catch((e: unknown) => e)) as IssuanceError;
    expect(error.errorClass).toBe('ca_rate_limited');
    expect(proxy.posts.slice(before).filter((p) => p.path === '/order-plz')).toHaveLength(1);
  });
});
