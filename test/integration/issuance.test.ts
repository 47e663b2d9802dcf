import * as acme from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IssuanceError } from '../../src/acme/errors.ts';
import { type IssueRequest, issueCertificate } from '../../src/acme/issuance.ts';
import { DnsError } from '../../src/dns/errors.ts';
import type { TxtProvider } from '../../src/dns/provider.ts';
import type { Authority, Device } from '../../src/model/types.ts';
import { DELEGATE_ZONE, type DnsLab } from '../lab/dns/lab.ts';
import { type IssuanceLab, startIssuanceLab } from '../lab/issuance-lab.ts';
import type { Pebble } from '../lab/pebble/pebble.ts';

let ca: IssuanceLab;
let lab: DnsLab;
let pebble: Pebble;
const authority: Authority = {
  directory: 'https://unused.invalid/dir',
  account_key_secret: 'LAB_ACCOUNT_KEY',
  profile: 'classic',
};
const sentOrders: Record<string, unknown>[] = [];

beforeAll(async () => {
  ca = await startIssuanceLab(authority);
  lab = ca.dns;
  pebble = ca.pebble;
  // Record what goes on the wire: the JWS payload of every newOrder request.
  acme.axios.interceptors.request.use((config) => {
    if (String(config.url).includes('new-order') || String(config.url).endsWith('/order-plz')) {
      const jws = typeof config.data === 'string' ? JSON.parse(config.data) : config.data;
      if (jws?.payload) sentOrders.push(JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')));
    }
    return config;
  });
}, 60_000);

afterAll(async () => {
  await ca?.stop();
});

function device(name: string, sans: string[] = []): Device {
  return {
    system_name: name.split('.')[0]!,
    common_name: name,
    ...(sans.length ? { subject_alternative_names: sans } : {}),
    host_platform: 'linux',
    os_version: '12',
    data_center: 'lab',
    certificate_authority: 'lab',
  };
}

/** What the device does: its own key (which stays with it) and a CSR with every name. */
async function deviceCsr(d: Device, key?: Buffer): Promise<string> {
  const privateKey = key ?? (await acme.crypto.createPrivateEcdsaKey('P-256'));
  const [, csr] = await acme.crypto.createCsr(
    { commonName: d.common_name, altNames: [d.common_name, ...(d.subject_alternative_names ?? [])] },
    privateKey,
  );
  return csr.toString();
}

const request = (d: Device, csrPem: string, extra: Partial<IssueRequest> = {}) =>
  ca.request(d, csrPem, extra);

/** Each certificate of the chain is signed by the next, and the last by Pebble's root. */
async function expectChainToPebbleRoot(chainPem: string): Promise<void> {
  const { X509Certificate } = await import('node:crypto');
  const chain = (chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (pem) => new X509Certificate(pem),
  );
  const root = new X509Certificate(await pebble.rootsPem());
  for (let i = 0; i < chain.length; i++) {
    const issuer = chain[i + 1] ?? root;
    expect(chain[i]!.checkIssued(issuer)).toBe(true);
    expect(chain[i]!.verify(issuer.publicKey)).toBe(true);
  }
}

const delegateTxtCount = () => [...lab.delegate.sets.values()].filter((s) => s.type === 'TXT').length;

describe('issuance against Pebble with DNS-01 through the delegate zone', () => {
  it('issues a 1-name and a 2-name certificate with the CSR key, and leaves no TXT record behind', async () => {
    for (const d of [device('one.example.com'), device('two.example.com', ['www.two.example.com'])]) {
      lab.addAliases([d.common_name, ...(d.subject_alternative_names ?? [])]);
      const issued = await issueCertificate(request(d, await deviceCsr(d)));
      const { X509Certificate } = await import('node:crypto');
      const leaf = new X509Certificate(issued.chain_pem);
      for (const name of [d.common_name, ...(d.subject_alternative_names ?? [])])
        expect(leaf.checkHost(name)).toBe(name);
      expect(issued.serial).toMatch(/^[0-9a-f]+$/);
      expect(Date.parse(issued.not_after)).toBeGreaterThan(Date.now());
      expect(issued.chain_pem.match(/BEGIN CERTIFICATE/g)!.length).toBeGreaterThanOrEqual(2);
      await expectChainToPebbleRoot(issued.chain_pem);
    }
    expect(delegateTxtCount()).toBe(0);
  });

  it('sends profile and replaces on the wire', async () => {
    const d = device('replace.example.com');
    lab.addAliases([d.common_name]);
    sentOrders.length = 0;
    await issueCertificate(
      request(d, await deviceCsr(d), { replaces: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE' }),
    );
    expect(sentOrders[0]).toMatchObject({
      profile: 'classic',
      replaces: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
    });
  });

  it("Debian's Pebble 2.4 takes the same `replaces` twice (it has no ARI): the lab proxy emulates the refusal", async () => {
    // Pebble 2.4's acme.Order has no `replaces` field, so it is ignored; alreadyReplaced came in Pebble 2.10
    // (letsencrypt/pebble #532). test/integration/acme-faults.test.ts covers the refusal through the proxy.
    const d = device('replace-twice.example.com');
    lab.addAliases([d.common_name]);
    const first = await issueCertificate(request(d, await deviceCsr(d)));
    for (let i = 0; i < 2; i++) {
      const again = await issueCertificate(request(d, await deviceCsr(d), { replaces: first.ari_id! }));
      expect(again.warnings).toBeUndefined();
    }
  });

  it('issues a wildcard with its apex, both validated at one alias target', async () => {
    const d = device('wild.example.com', ['*.wild.example.com']);
    lab.addAliases(['wild.example.com']);
    const issued = await issueCertificate(request(d, await deviceCsr(d)));
    const { X509Certificate } = await import('node:crypto');
    expect(new X509Certificate(issued.chain_pem).subjectAltName).toMatch(/DNS:\*\.wild\.example\.com/);
    expect(delegateTxtCount()).toBe(0);
  });

  it('issues a 100-name certificate', async () => {
    const sans = Array.from({ length: 99 }, (_, i) => `n${i}.big.example.com`);
    const d = device('big.example.com', sans);
    lab.addAliases([d.common_name, ...sans]);
    const issued = await issueCertificate(request(d, await deviceCsr(d)));
    const { X509Certificate } = await import('node:crypto');
    expect(new X509Certificate(issued.chain_pem).subjectAltName?.split(', ')).toHaveLength(100);
  }, 60_000);

  it('runs 20 orders at once for different devices without losing a TXT record', async () => {
    const devices = Array.from({ length: 20 }, (_, i) => device(`c${i}.example.com`));
    lab.addAliases(devices.map((d) => d.common_name));
    lab.route53.failNext('Throttling', 3);
    const results = await Promise.all(
      devices.map(async (d) => issueCertificate(request(d, await deviceCsr(d)))),
    );
    expect(results).toHaveLength(20);
    expect(delegateTxtCount()).toBe(0);
  }, 60_000);

  it('refuses a missing CNAME before ordering, printing the record to create', async () => {
    const d = device('nocname.example.com');
    sentOrders.length = 0;
    const error = (await issueCertificate(request(d, await deviceCsr(d))).catch(
      (e: unknown) => e,
    )) as IssuanceError;
    expect(error).toBeInstanceOf(IssuanceError);
    expect(error.errorClass).toBe('dns_alias_missing');
    expect(error.message).toContain(
      `_acme-challenge.nocname.example.com. CNAME nocname.example.com.${DELEGATE_ZONE}.`,
    );
    expect(sentOrders).toHaveLength(0);
  });

  it('refuses a weak key or a foreign name before any order', async () => {
    const d = device('weak.example.com');
    lab.addAliases([d.common_name]);
    sentOrders.length = 0;
    const weak = await issueCertificate(
      request(d, await deviceCsr(d, await acme.crypto.createPrivateRsaKey(1024))),
    ).catch((e: unknown) => e);
    expect((weak as IssuanceError).errorClass).toBe('csr_rejected');
    expect((weak as Error).message).toMatch(/weak.*RSA 1024; at least RSA 2048/);
    const foreign = await issueCertificate(
      request(d, await deviceCsr(device('weak.example.com', ['bank.example.org']))),
    ).catch((e: unknown) => e);
    expect((foreign as Error).message).toMatch(/names the inventory does not list: bank.example.org/);
    expect(sentOrders).toHaveLength(0);
  });

  it('stops on cancellation and still removes its TXT records', async () => {
    const d = device('cancel.example.com');
    lab.addAliases([d.common_name]);
    const target = `cancel.example.com.${DELEGATE_ZONE}`;
    lab.store.hidden.add(target); // propagation never completes: the job is cancelled while waiting
    const controller = new AbortController();
    const req = request(d, await deviceCsr(d), { signal: controller.signal });
    req.dns.propagationTimeoutMs = 30_000;
    setTimeout(() => controller.abort(new Error('job cancelled')), 300);
    const error = await issueCertificate(req).catch((e: unknown) => e);
    lab.store.hidden.delete(target);
    expect((error as IssuanceError).errorClass).toBe('cancelled');
    expect((error as Error).message).toMatch(/job cancelled/);
    expect(lab.store.get(lab.delegate, target, 'TXT')).toBeUndefined();
  });

  it('ends in a propagation timeout when DNS never shows the record, and removes the TXT', async () => {
    const d = device('stuck.example.com');
    lab.addAliases([d.common_name]);
    const target = `stuck.example.com.${DELEGATE_ZONE}`;
    lab.store.hidden.add(target);
    const req = request(d, await deviceCsr(d));
    req.dns.propagationTimeoutMs = 400;
    const error = (await issueCertificate(req).catch((e: unknown) => e)) as IssuanceError;
    lab.store.hidden.delete(target);
    expect(error.errorClass).toBe('dns_propagation');
    expect(error.message).toContain(lab.server);
    expect(lab.store.get(lab.delegate, target, 'TXT')).toBeUndefined();
  });

  it('reports a TXT value it could not remove as a warning naming the record and the delegate zone', async () => {
    const d = device('left.example.com');
    lab.addAliases([d.common_name]);
    const target = `left.example.com.${DELEGATE_ZONE}`;
    const req = request(d, await deviceCsr(d));
    req.dns.provider = refusingRemoval(req.dns.provider);
    const lines: string[] = [];
    req.log = (step, message) => lines.push(`${step}: ${message}`);
    const issued = await issueCertificate(req);
    const left = lab.store.get(lab.delegate, target, 'TXT');
    expect(left?.values).toHaveLength(1);
    expect(issued.warnings).toHaveLength(1);
    const [warning] = issued.warnings!;
    expect(warning).toContain(`the TXT record ${target} in the delegate zone ${DELEGATE_ZONE}`);
    expect(warning).toContain(`"${left!.values[0]}"`);
    expect(warning).toContain('AccessDenied');
    expect(warning).toMatch(/do not expire/);
    expect(warning).toMatch(/later rotations of this name remove only their own values/);
    expect(warning).not.toMatch(/harmless/);
    expect(lines).toContain(`cleanup: ${warning}`);
    lab.store.delete(lab.delegate, target, 'TXT');
  });

  it('carries the TXT warning on a failed issuance too', async () => {
    const d = device('left-failed.example.com');
    lab.addAliases([d.common_name]);
    const target = `left-failed.example.com.${DELEGATE_ZONE}`;
    lab.store.hidden.add(target);
    const req = request(d, await deviceCsr(d));
    req.dns.provider = refusingRemoval(req.dns.provider);
    req.dns.propagationTimeoutMs = 300;
    const error = (await issueCertificate(req).catch((e: unknown) => e)) as IssuanceError;
    lab.store.hidden.delete(target);
    expect(error.errorClass).toBe('dns_propagation');
    expect(error.warnings).toEqual([
      expect.stringContaining(`the TXT record ${target} in the delegate zone`),
    ]);
    lab.store.delete(lab.delegate, target, 'TXT');
  });
});

/** The delegate zone's provider, except that every removal is refused as Route53 refuses a missing permission. */
function refusingRemoval(provider: TxtProvider): TxtProvider {
  return {
    addTxt: (name, value, signal) => provider.addTxt(name, value, signal),
    removeTxt: async (name) => {
      throw new DnsError('denied', `Route53 remove TXT at ${name}: AccessDenied: not authorized`);
    },
  };
}
