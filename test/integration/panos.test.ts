import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Device, Route } from '../../src/model/types.ts';
import { panosDriver } from '../../src/platforms/panos/driver.ts';
import { type RotateOptions, rotateDevice } from '../../src/rotate/rotate-device.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { PanosSimulator } from '../lab/appliances/panos-sim.ts';
import { servedSpkiPin } from '../lab/appliances/pin.ts';
import { type IssuanceLab, startIssuanceLab } from '../lab/issuance-lab.ts';

let ca: IssuanceLab;
const sims: PanosSimulator[] = [];
const USERS = { admin: 'correct horse battery staple' };

beforeAll(async () => {
  ca = await startIssuanceLab();
}, 60_000);
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await ca?.stop();
});

let counter = 0;
async function setup(credential?: string) {
  const name = `fw${counter++}.example.com`;
  const sim = new PanosSimulator(name, USERS);
  await sim.start();
  sims.push(sim);
  ca.dns.addAliases([name, `vpn.${name}`]);
  const pin = await servedSpkiPin({ host: '127.0.0.1', port: sim.port, servername: name });
  const device: Device = {
    system_name: name.split('.')[0]!,
    common_name: name,
    subject_alternative_names: [`vpn.${name}`],
    host_platform: 'panos',
    os_version: '10.2.4',
    data_center: 'lab',
    ip_address: '127.0.0.1',
    certificate_authority: 'lab',
    certificate_validation: false,
    connection: { port: sim.port, credentials: 'PANOS_LAB', tls_spki_sha256: pin },
  };
  const route: Route = {
    name: 'panos',
    match: { host_platform: 'panos' },
    platform: 'panos',
    options: { ssl_tls_profile: 'ottr-mgmt' },
  };
  const secret = credential ?? `admin:${USERS.admin}`;
  const received: string[] = [];
  const options: RotateOptions = {
    driver: panosDriver,
    key: ca.authority.key!,
    rootsPem: ca.roots,
    secret: () => secret,
    verifyTimeoutMs: 3000,
    audit: (d) => received.push(d),
    issue: (csrPem, d) => ca.issue(csrPem, d, undefined),
  };
  return { sim, device, route, options, received, secret };
}

const servedSerial = async (sim: PanosSimulator, name: string) =>
  (
    await fetchServedChain({ host: '127.0.0.1', port: sim.port, servername: name })
  )[0]!.serialNumber.toLowerCase();

describe('panos against the PAN-OS simulator', () => {
  it('rotates: key and CSR made on the firewall, imported, bound, committed, served with the full chain', async () => {
    const { sim, device, route, options, received, secret } = await setup();
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    const chain = await fetchServedChain({
      host: '127.0.0.1',
      port: sim.port,
      servername: device.common_name,
    });
    expect(chain[0]!.serialNumber.toLowerCase()).toBe(result.certificate!.serial);
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(new X509Certificate(chain[0]!.raw).subjectAltName).toContain(`DNS:vpn.${device.common_name}`);
    for (const data of received) expect(data).not.toMatch(/PRIVATE KEY/);
    expect(JSON.stringify(result)).not.toContain(secret);
    expect(sim.log).toContain('POST keygen');
    expect(sim.log).toContain('POST commit');
  }, 60_000);

  it('a second rotation the same day works (no name collision) and removes the first certificate', async () => {
    const { sim, device, route, options } = await setup();
    const first = await rotateDevice(device, route, options);
    const firstName = sim.servedCertificateName();
    const second = await rotateDevice(device, route, options);
    expect([first.status, second.status]).toEqual(['rotated', 'rotated']);
    expect(sim.servedCertificateName()).not.toBe(firstName);
    expect(sim.certificates.has(firstName!)).toBe(false);
    expect(sim.certificates.has('factory-default')).toBe(true); // never deleted: not ours
  }, 60_000);

  it('a failed commit rolls back, and the old certificate is still served', async () => {
    const { sim, device, route, options } = await setup();
    const before = await servedSerial(sim, device.common_name);
    sim.faults.add('commitFail');
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'install',
      class: 'activate_failed',
      message: expect.stringMatching(/commit \d+ \(activate\) failed: Validation Error/),
    });
    expect(result.status).toBe('rolled_back');
    expect(result.rollback?.restored).toBe(true);
    expect(await servedSerial(sim, device.common_name)).toBe(before);
  }, 60_000);

  it('a slow commit job is polled until it finishes, not waited for with a sleep', async () => {
    const { sim, device, route, options } = await setup();
    sim.commitDelayMs = 1500;
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(sim.log.filter((l) => l === 'POST op').length).toBeGreaterThanOrEqual(5);
    expect(await servedSerial(sim, device.common_name)).toBe(result.certificate!.serial);
  }, 60_000);

  it('an error answered with HTTP 200 is detected at import, and the connection dropping mid-install too', async () => {
    for (const fault of ['errorOnImport', 'dropOnImport'] as const) {
      const { sim, device, route, options } = await setup();
      const before = await servedSerial(sim, device.common_name);
      sim.faults.add(fault);
      const result = await rotateDevice(device, route, options);
      // Nothing was activated: the run fails, the unused key is discarded, the device is as it was.
      expect(result.status).toBe('failed');
      expect(result.error).toMatchObject({ phase: 'install', class: 'install_failed' });
      expect(await servedSerial(sim, device.common_name)).toBe(before);
    }
  }, 60_000);

  it('refuses wrong credentials and never puts the key in a URL', async () => {
    const { sim, device, route, options } = await setup('admin:wrong');
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'precheck',
      message: expect.stringMatching(/keygen refused: Invalid Credential/),
    });
    expect(JSON.stringify(result)).not.toContain('wrong');
    expect(sim.log.filter((l) => l.includes('key='))).toHaveLength(0);
  });

  it('does not talk to a management interface that is neither pinned nor trusted', async () => {
    const { device, route, options } = await setup();
    const wrongPin: Device = {
      ...device,
      connection: { ...device.connection, tls_spki_sha256: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
    };
    const result = await rotateDevice(wrongPin, route, options);
    expect(result.error).toMatchObject({
      phase: 'precheck',
      message: expect.stringMatching(/neither pinned nor issued by a trusted root/),
    });
  });
});
