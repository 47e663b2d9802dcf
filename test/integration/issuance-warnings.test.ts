import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../src/acme/issuance.ts';
import { DnsError } from '../../src/dns/errors.ts';
import type { TxtProvider } from '../../src/dns/provider.ts';
import type { Authority, Device, Route } from '../../src/model/types.ts';
import { type RotateOptions, rotateDevice } from '../../src/rotate/rotate-device.ts';
import { TlsDevice } from '../lab/devices/tls-device.ts';
import { DELEGATE_ZONE } from '../lab/dns/lab.ts';
import { type IssuanceLab, startIssuanceLab } from '../lab/issuance-lab.ts';

// What the issuance could not clean up reaches the rotation result's `warnings`, on success and on failure.

let ca: IssuanceLab;
const authority: Authority = {
  directory: 'https://unused.invalid/dir',
  account_key_secret: 'LAB_ACCOUNT_KEY',
  key: { type: 'ecdsa', curve: 'P-256' },
};
const route: Route = { name: 'lab', match: { host_platform: 'linux' }, platform: 'linux-ssh' };
const devices: TlsDevice[] = [];

beforeAll(async () => {
  ca = await startIssuanceLab(authority);
}, 60_000);
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.stop()));
});
afterAll(async () => {
  await ca?.stop();
});

/** Route53 as the lab runs it, except that removals are refused (a role without DELETE, an outage). */
function refusingRemoval(provider: TxtProvider): TxtProvider {
  return {
    addTxt: (name, value, signal) => provider.addTxt(name, value, signal),
    removeTxt: async (name) => {
      throw new DnsError('denied', `Route53 remove TXT at ${name}: AccessDenied: not authorized`);
    },
  };
}

let counter = 0;
async function setup(propagationTimeoutMs?: number) {
  const name = `warn${counter++}.example.com`;
  const device: Device = {
    system_name: name.split('.')[0]!,
    common_name: name,
    host_platform: 'linux',
    os_version: '12',
    data_center: 'lab',
    certificate_authority: 'lab',
  };
  ca.dns.addAliases([name]);
  const sim = new TlsDevice([name]);
  await sim.start();
  devices.push(sim);
  const options: RotateOptions = {
    driver: sim.driver(),
    key: authority.key!,
    rootsPem: ca.roots,
    secret: () => 'unused',
    verifyTimeoutMs: 1500,
    order: (csrPem, d) => {
      const request = ca.request(d, csrPem);
      request.dns.provider = refusingRemoval(request.dns.provider);
      if (propagationTimeoutMs) request.dns.propagationTimeoutMs = propagationTimeoutMs;
      return issueCertificate(request);
    },
  };
  return { device, options, target: `${name}.${DELEGATE_ZONE}` };
}

describe('TXT values left in the delegate zone are reported with the rotation', () => {
  it('a rotated device carries the warning', async () => {
    const { device, options, target } = await setup();
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(result.warnings).toEqual([
      expect.stringContaining(`the TXT record ${target} in the delegate zone ${DELEGATE_ZONE}`),
    ]);
    expect(ca.dns.store.get(ca.dns.delegate, target, 'TXT')?.values).toHaveLength(1);
    ca.dns.store.delete(ca.dns.delegate, target, 'TXT');
  });

  it('a failed order carries it too, next to its error', async () => {
    const { device, options, target } = await setup(300);
    ca.dns.store.hidden.add(target);
    const result = await rotateDevice(device, route, options);
    ca.dns.store.hidden.delete(target);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ phase: 'order', class: 'dns_propagation' });
    expect(result.warnings).toEqual([expect.stringContaining(`the TXT record ${target}`)]);
    ca.dns.store.delete(ca.dns.delegate, target, 'TXT');
  });
});
