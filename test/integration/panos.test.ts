import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Device, Route } from '../../src/model/types.ts';
import { panosDriver } from '../../src/platforms/panos/driver.ts';
import { panos } from '../../src/platforms/panos/index.ts';
import { type RotateOptions, rotateDevice } from '../../src/rotate/rotate-device.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { type IssuanceLab, startIssuanceLab } from '../lab/issuance-lab.ts';
import { PanosSimulator } from '../lab/panos/simulator.ts';
import { servedSpkiPin } from '../lab/pin.ts';

let ca: IssuanceLab;
const sims: PanosSimulator[] = [];
const USERS: Record<string, string> = { admin: 'correct horse battery staple' };
/** A credential whose every part is easy to find: neither side of its colon may reach any message. */
const CANARY = { user: 'canary-user-7f3a', password: 'canary-pass-9b2c' };
/** An API key of the right shape that no simulator issued. */
const REVOKED_KEY = `LUFRPT${'r3v0k3d'.repeat(6)}`;

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
async function setup(credential?: string, users = USERS) {
  const name = `fw${counter++}.example.com`;
  const sim = new PanosSimulator(name, users);
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
  const logs: string[] = [];
  const masked: string[] = [];
  const options: RotateOptions = {
    driver: panosDriver,
    driverOptions: panos.options.parse(route.options),
    key: ca.authority.key!,
    rootsPem: ca.roots,
    secret: () => secret,
    mask: (value) => masked.push(value),
    verifyTimeoutMs: 3000,
    audit: (d) => received.push(d),
    log: (phase, line) => logs.push(`${phase}: ${line}`),
    order: (csrPem, d) => ca.order(csrPem, d, undefined),
  };
  return { sim, device, route, options, received, secret, logs, masked };
}

/**
 * The device file after its first rotation, as onboarding advises: it serves a certificate of the authority, so
 * the pin and certificate_validation: false go, and the settings grant the authority's roots for management.
 */
function validatedByTheAuthority(device: Device, options: RotateOptions) {
  const { tls_spki_sha256: _pin, ...connection } = device.connection ?? {};
  const { certificate_validation: _off, ...rest } = device;
  return { device: { ...rest, connection }, options: { ...options, managementRootsPem: ca.roots } };
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
    // A partial commit of the API admin's changes only (PAN-OS XML API: commit, partial admin).
    expect(sim.log).toContain('POST commit/partial');
  }, 60_000);

  it('a second rotation the same day works (no name collision) and removes the first certificate', async () => {
    const { sim, device, route, options } = await setup();
    const first = await rotateDevice(device, route, options);
    const firstName = sim.servedCertificateName();
    // The old pin matches nothing now, and with certificate_validation false nothing but the pin is trusted.
    const stale = await rotateDevice(device, route, { ...options, managementRootsPem: ca.roots });
    expect(stale.error).toMatchObject({
      phase: 'precheck',
      message: expect.stringMatching(/certificate_validation is false, so only the pinned key/),
    });
    const validated = validatedByTheAuthority(device, options);
    // Validating, but with no root granted for management: still nothing to trust.
    const ungranted = await rotateDevice(validated.device, route, options);
    expect(ungranted.error?.message).toMatch(/not pinned and no root is granted for management/);
    const second = await rotateDevice(validated.device, route, validated.options);
    expect([first.status, second.status], JSON.stringify(second.error)).toEqual(['rotated', 'rotated']);
    expect(sim.servedCertificateName()).not.toBe(firstName);
    expect(sim.certificates.has(firstName!)).toBe(false);
    // The management server's built-in certificate is no config object; nothing but a certificate of ours was
    // ever deleted.
    expect(sim.configLog.filter((l) => l.startsWith('delete '))).toEqual([
      `delete /config/shared/certificate/entry[@name='${firstName}']`,
    ]);
    // Pinned to the key served now, validation off: after the commit the firewall presents the certificate this
    // session installed, which the session trusts (its key is the firewall's own), so the cleanup still runs.
    const secondName = sim.servedCertificateName();
    const pin = await servedSpkiPin({ host: '127.0.0.1', port: sim.port, servername: device.common_name });
    const pinned = { ...device, connection: { ...device.connection, tls_spki_sha256: pin } };
    const third = await rotateDevice(pinned, route, options);
    expect(third.status, JSON.stringify(third.error)).toBe('rotated');
    expect(third.warnings).toBeUndefined();
    expect(sim.certificates.has(secondName!)).toBe(false);
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
      message: expect.stringMatching(/keygen refused the credential PANOS_LAB: Invalid Credential/),
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
      message: expect.stringMatching(/is not trusted for fw\d+\.example\.com/),
    });
  });
});

describe('panos never lets a credential or a key from keygen into a message', () => {
  const canary = `${CANARY.user}:${CANARY.password}`;
  const expectNoPartOf = (text: string, secrets: string[]) => {
    for (const secret of secrets) expect(text).not.toContain(secret);
  };

  it('a refused keygen names the credential, not its user, and repeats no part of it', async () => {
    const { sim, device, route, options, logs, masked } = await setup(canary);
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'precheck',
      message: 'PAN-OS keygen refused the credential PANOS_LAB: Invalid Credential',
    });
    expectNoPartOf(`${JSON.stringify(result)}\n${logs.join('\n')}`, [CANARY.user, CANARY.password]);
    expect(masked).not.toContain(sim.apiKey); // nothing was issued
  });

  it('masks the key keygen issues the moment it arrives, and no message carries it', async () => {
    const { sim, device, route, options, logs, masked } = await setup(canary, {
      [CANARY.user]: CANARY.password,
    });
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(masked).toContain(sim.apiKey);
    expectNoPartOf(`${JSON.stringify(result)}\n${logs.join('\n')}`, [
      CANARY.user,
      CANARY.password,
      sim.apiKey,
    ]);
  }, 60_000);

  it('a key the firewall refuses (revoked, expired) names the credential and repeats no part of the key', async () => {
    const { sim, device, route, options, logs } = await setup(REVOKED_KEY);
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'precheck',
      message: 'PAN-OS op with the credential PANOS_LAB: Invalid Credential (code 403)',
    });
    expect(sim.log).toEqual(['POST op']);
    expectNoPartOf(`${JSON.stringify(result)}\n${logs.join('\n')}`, [REVOKED_KEY]);
  });
});
