import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RotationResult } from '../../src/model/results.ts';
import type { Device, Route } from '../../src/model/types.ts';
import { lighthouseDriver } from '../../src/platforms/lighthouse/driver.ts';
import { lighthouse } from '../../src/platforms/lighthouse/index.ts';
import { spkiSha256 } from '../../src/platforms/shared/https-client.ts';
import { type RotateOptions, rotateDevice } from '../../src/rotate/rotate-device.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { type IssuanceLab, startIssuanceLab } from '../lab/issuance-lab.ts';
import { LighthouseSimulator } from '../lab/lighthouse/simulator.ts';

let ca: IssuanceLab;
const sims: LighthouseSimulator[] = [];
const PASSWORD = 'Lh-s3cret:with-colon';
/** A credential whose every part is easy to find: neither side of its colon may reach any message. */
const CANARY = { user: 'canary-user-7f3a', password: 'canary-pass-9b2c' };

beforeAll(async () => {
  // Lighthouse makes RSA keys only: the lab's authority asks for RSA 2048.
  ca = await startIssuanceLab({
    directory: 'https://unused.invalid/dir',
    account_key_secret: 'LAB_ACCOUNT_KEY',
    key: { type: 'rsa', size: 2048 },
  });
}, 60_000);
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await ca?.stop();
});

let counter = 0;
async function setup(
  password = PASSWORD,
  routeOptions: Record<string, unknown> = {},
  login: { user: string; password: string; known: boolean } = { user: 'root', password, known: true },
) {
  const name = `lh${counter++}.example.com`;
  const sim = new LighthouseSimulator(name, {
    root: PASSWORD,
    ...(login.known && login.user !== 'root' ? { [login.user]: login.password } : {}),
  });
  await sim.start();
  sims.push(sim);
  ca.dns.addAliases([name, `console.${name}`]);
  const served = (await fetchServedChain({ host: '127.0.0.1', port: sim.port, servername: name }))[0]!;
  const pin = spkiSha256(served);
  const device: Device = {
    system_name: name.split('.')[0]!,
    common_name: name,
    host_platform: 'lighthouse',
    os_version: '24.07',
    data_center: 'lab',
    ip_address: '127.0.0.1',
    certificate_authority: 'lab',
    certificate_validation: false,
    connection: { port: sim.port, credentials: 'LIGHTHOUSE_LAB', tls_spki_sha256: pin },
  };
  const route: Route = {
    name: 'lighthouse',
    match: { host_platform: 'lighthouse' },
    platform: 'lighthouse',
    options: { restart_timeout: '10s', ...routeOptions },
  };
  const secret = `${login.user}:${login.password}`;
  const received: string[] = [];
  const logs: string[] = [];
  const masked: string[] = [];
  const options: RotateOptions = {
    driver: lighthouseDriver,
    driverOptions: lighthouse.options.parse(route.options),
    key: ca.authority.key!,
    rootsPem: ca.roots,
    secret: () => secret,
    mask: (value) => masked.push(value),
    verifyTimeoutMs: 3000,
    audit: (d) => received.push(d),
    log: (phase, line) => logs.push(`${phase}: ${line}`),
    order: (csrPem, d) => ca.order(csrPem, d, undefined),
  };
  return {
    sim,
    device,
    route,
    options,
    received,
    logs,
    masked,
    before: served.serialNumber.toLowerCase(),
  };
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

const servedLeaf = async (sim: LighthouseSimulator, name: string) =>
  (await fetchServedChain({ host: '127.0.0.1', port: sim.port, servername: name }))[0]!;
const servedSerial = async (sim: LighthouseSimulator, name: string) =>
  (await servedLeaf(sim, name)).serialNumber.toLowerCase();

/** Neither the password nor any session the simulator issued is in the result or the log lines. */
function expectNoLeak(result: RotationResult, received: string[], logs: string[]) {
  const text = `${JSON.stringify(result)}\n${logs.join('\n')}`;
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toMatch(/PRIVATE KEY/);
  for (const data of received) {
    const session = /"session":"([0-9a-f]+)"/.exec(data)?.[1];
    if (session) expect(text).not.toContain(session);
  }
}

describe('lighthouse against the Lighthouse simulator', () => {
  it('rotates: key and CSR made on the Lighthouse, full chain served after the restart', async () => {
    const { sim, device, route, options, received, logs, before } = await setup();
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(result.previous?.serial).toBe(before);
    const chain = await fetchServedChain({
      host: '127.0.0.1',
      port: sim.port,
      servername: device.common_name,
    });
    expect(chain[0]!.serialNumber.toLowerCase()).toBe(result.certificate!.serial);
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(chain[0]!.checkHost(device.common_name)).toBe(device.common_name);
    for (const data of received) expect(data).not.toMatch(/PRIVATE KEY/);
    expectNoLeak(result, received, logs);
    expect(sim.restarts).toBe(1);
    expect(sim.hasPendingCsr()).toBe(false);
    // The restart dropped the first session: a second login, and the last session logged out.
    expect(sim.log.filter((l) => l === 'POST /api/v3.7/sessions')).toHaveLength(2);
    expect(sim.log).toContain('GET /api/v3.7/services/https?zip=true');
    expect(sim.log.at(-1)).toBe('DELETE /api/v3.7/sessions/…');
    expect(sim.activeSessions()).toBe(0);
  }, 60_000);

  it('a second rotation the same day works, trusting the interface through the authority after the first', async () => {
    const { sim, device, route, options } = await setup();
    const first = await rotateDevice(device, route, options);
    // The pin matches nothing now, and with validation off nothing else is trusted.
    const stale = await rotateDevice(device, route, { ...options, managementRootsPem: ca.roots });
    expect(stale.error?.message).toMatch(/certificate_validation is false, so only the pinned key/);
    const validated = validatedByTheAuthority(device, options);
    const second = await rotateDevice(validated.device, route, validated.options);
    expect([first.status, second.status], JSON.stringify(second.error)).toEqual(['rotated', 'rotated']);
    expect(second.certificate!.serial).not.toBe(first.certificate!.serial);
    expect(second.previous?.serial).toBe(first.certificate!.serial);
    expect(await servedSerial(sim, device.common_name)).toBe(second.certificate!.serial);
    expect(sim.restarts).toBe(2);
  }, 90_000);

  it('awaits a slow restart by polling the handshake, not by one long sleep', async () => {
    const { sim, device, route, options, logs } = await setup();
    sim.faults.add('slowRestart');
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    // Connection attempts during the 2 s restart were refused one after the other.
    expect(sim.log.filter((l) => l.startsWith('REFUSED')).length).toBeGreaterThanOrEqual(3);
    const attempts = Number(/after \d+ ms \((\d+) attempts\)/.exec(logs.join('\n'))?.[1]);
    expect(attempts).toBeGreaterThanOrEqual(4);
    expect(result.phases.find((p) => p.name === 'install')!.ms).toBeGreaterThanOrEqual(2000);
  }, 60_000);

  it('an error answered with HTTP 200 at CSR generation fails at csr; the old certificate stays', async () => {
    const { sim, device, route, options, received, logs, before } = await setup();
    sim.faults.add('errorWith200OnCsr');
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      phase: 'csr',
      class: 'device_error',
      message: expect.stringMatching(
        /Lighthouse CSR generation: Push command failed \[type 1, code 33\] \(HTTP 200\)/,
      ),
    });
    expect(await servedSerial(sim, device.common_name)).toBe(before);
    expectNoLeak(result, received, logs);
  }, 60_000);

  it('a refused or dropped certificate upload is rolled back: the old certificate is served, the new key gone', async () => {
    for (const [fault, message] of [
      ['errorOnCert', /Lighthouse certificate upload: Push command failed \[type 1, code 33\] \(HTTP 500\)/],
      ['dropOnCert', /connection closed without an answer .* still holds its previous certificate/],
    ] as const) {
      const { sim, device, route, options, received, logs, before } = await setup();
      sim.faults.add(fault);
      const result = await rotateDevice(device, route, options);
      expect(result.error).toMatchObject({
        phase: 'install',
        class: 'activate_failed',
        message: expect.stringMatching(message),
      });
      expect(result.status).toBe('rolled_back');
      expect(result.rollback).toMatchObject({ restored: true });
      expect(await servedSerial(sim, device.common_name)).toBe(before);
      expect(sim.configuredCertificate().serialNumber.toLowerCase()).toBe(before);
      expect(sim.hasPendingCsr()).toBe(false);
      expect(sim.restarts).toBe(0);
      expectNoLeak(result, received, logs);
    }
  }, 90_000);

  it('a restart that comes back with the old certificate fails, and rollback says honestly what is served', async () => {
    const { sim, device, route, options, received, logs, before } = await setup(PASSWORD, {
      restart_timeout: '2s',
    });
    sim.faults.add('restartFails');
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      phase: 'install',
      class: 'activate_failed',
      message: expect.stringMatching(
        new RegExp(
          `new certificate \\(serial [0-9a-f]+\\) was not served within 2000 ms \\(serving serial ${before}`,
        ),
      ),
    });
    expect(result.rollback?.restored).toBe(false);
    expect(result.rollback?.message).toMatch(
      new RegExp(
        `Lighthouse keeps one key: the previous certificate cannot be restored after activation; .*web server still serves serial ${before}`,
      ),
    );
    // Still a valid certificate: the previous one, unexpired.
    const leaf = await servedLeaf(sim, device.common_name);
    expect(leaf.serialNumber.toLowerCase()).toBe(before);
    expect(new Date(leaf.validTo).getTime()).toBeGreaterThan(Date.now());
    expectNoLeak(result, received, logs);
  }, 60_000);

  it('verification failing after activation: rollback is impossible and the new, valid certificate stays served', async () => {
    const { sim, device, route, options, before } = await setup();
    const result = await rotateDevice(device, route, { ...options, expectedIssuers: ['Nobody Inc'] });
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ phase: 'verify', class: 'verify_failed' });
    expect(result.rollback?.restored).toBe(false);
    expect(result.rollback?.message).toMatch(
      /Lighthouse keeps one key: the previous certificate cannot be restored after activation; the device serves the new certificate \(serial [0-9a-f]+, valid until .*\), which is valid/,
    );
    const chain = await fetchServedChain({
      host: '127.0.0.1',
      port: sim.port,
      servername: device.common_name,
    });
    expect(chain[0]!.serialNumber.toLowerCase()).not.toBe(before);
    expect(chain[0]!.checkHost(device.common_name)).toBe(device.common_name);
    expect(chain[0]!.checkIssued(chain[1]!)).toBe(true);
  }, 60_000);

  it('with san_field, a Lighthouse that ignores the field makes a CSR the pipeline rejects; the old certificate stays', async () => {
    const { sim, device, route, options, before } = await setup(PASSWORD, {
      san_field: 'subject_alternative_names',
    });
    // The simulator is REST v3.7 as documented: no SAN field, unknown fields ignored.
    const withSan = { ...device, subject_alternative_names: [`console.${device.common_name}`] };
    const result = await rotateDevice(withSan, route, options);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      phase: 'csr',
      class: 'csr_rejected',
      message: expect.stringContaining(`the CSR lacks console.${device.common_name}`),
    });
    expect(await servedSerial(sim, device.common_name)).toBe(before);
    expect(sim.hasPendingCsr()).toBe(false); // discarded
  }, 60_000);

  it('sends the SANs in the field san_field names, for a release whose API takes them there', async () => {
    const { sim, device, route, options } = await setup(PASSWORD, { san_field: 'alt_names' });
    sim.sanField = 'alt_names';
    const withSan = { ...device, subject_alternative_names: [`console.${device.common_name}`] };
    const result = await rotateDevice(withSan, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    const leaf = await servedLeaf(sim, device.common_name);
    expect(new X509Certificate(leaf.raw).subjectAltName).toContain(`DNS:console.${device.common_name}`);
    expect(sim.hasPendingCsr()).toBe(false);
  }, 60_000);

  it('refuses an ECDSA key policy with a clear message before the device changes anything', async () => {
    const { sim, device, route, options } = await setup();
    const result = await rotateDevice(device, route, { ...options, key: { type: 'ecdsa', curve: 'P-256' } });
    expect(result.error).toMatchObject({
      phase: 'csr',
      message: expect.stringMatching(
        /Lighthouse generates RSA keys only, and the key policy asks for ECDSA P-256/,
      ),
    });
    expect(sim.log.filter((l) => l.startsWith('PUT'))).toEqual([]);
  }, 60_000);

  it('drops a private key the device puts in its answers and keeps nothing of it', async () => {
    const { sim, device, route, options, received, logs } = await setup();
    sim.faults.add('keyInAnswer');
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    // The audit sees every byte (that is how such a device is noticed); nothing else keeps any of it.
    expect(received.some((d) => /PRIVATE KEY/.test(d))).toBe(true);
    expect(logs.join('\n')).toMatch(
      /sent a private key in its answer to GET \/api\/v3\.7\/services\/https; it was discarded/,
    );
    expectNoLeak(result, received, logs);
  }, 60_000);

  it('reads the CSR from the trusted host only, whatever host the CSR location names', async () => {
    const { sim, device, route, options, logs } = await setup();
    sim.csrUrlAuthority = 'elsewhere.invalid:8443';
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(logs.join('\n')).toMatch(
      /the CSR location names elsewhere\.invalid:8443; it is read from 127\.0\.0\.1:\d+ only/,
    );
    expect(sim.log).toContain('GET /api/v3.7/services/https?zip=true');
  }, 60_000);

  it('refuses wrong credentials at precheck without repeating them', async () => {
    for (const [password, fault] of [
      ['wrong-password', undefined],
      [PASSWORD, 'authFail'],
    ] as const) {
      const { sim, device, route, options, received, logs, before } = await setup(password);
      if (fault) sim.faults.add(fault);
      const result = await rotateDevice(device, route, options);
      expect(result.error).toMatchObject({
        phase: 'precheck',
        class: 'precheck_failed',
        message: expect.stringMatching(
          /Lighthouse login refused for the credential LIGHTHOUSE_LAB: Invalid login credentials \[type 7, code 41\] \(HTTP 401\)/,
        ),
      });
      expect(JSON.stringify(result)).not.toContain(password);
      expect(logs.join('\n')).not.toContain(password);
      expectNoLeak(result, received, logs);
      expect(await servedSerial(sim, device.common_name)).toBe(before);
    }
  });

  it('does not talk to a management interface that is neither pinned nor trusted', async () => {
    const { sim, device, route, options } = await setup();
    const result = await rotateDevice(
      { ...device, connection: { ...device.connection, tls_spki_sha256: `${'A'.repeat(43)}=` } },
      route,
      options,
    );
    expect(result.error).toMatchObject({
      phase: 'precheck',
      message: expect.stringMatching(/is not trusted for lh\d+\.example\.com/),
    });
    expect(sim.log).toEqual([]);
  });
});

describe('lighthouse never lets a credential or a session token into a message', () => {
  const noPartOf = (text: string, secrets: string[]) => {
    for (const secret of secrets) expect(text).not.toContain(secret);
  };

  it('a refused login names the credential, not its user, and repeats no part of it', async () => {
    for (const known of [false, true]) {
      const { sim, device, route, options, logs, masked } = await setup(PASSWORD, {}, { ...CANARY, known });
      if (known) sim.faults.add('authFail');
      const result = await rotateDevice(device, route, options);
      expect(result.error).toMatchObject({
        phase: 'precheck',
        message:
          'Lighthouse login refused for the credential LIGHTHOUSE_LAB: Invalid login credentials [type 7, code 41] (HTTP 401)',
      });
      noPartOf(`${JSON.stringify(result)}\n${logs.join('\n')}`, [CANARY.user, CANARY.password]);
      expect(sim.issuedSessions).toEqual([]);
      expect(masked).not.toContain(CANARY.user);
    }
  });

  it('every session is masked the moment it is issued, also the one after the restart dropped the first', async () => {
    const { sim, device, route, options, logs, masked } = await setup(
      PASSWORD,
      {},
      { ...CANARY, known: true },
    );
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(logs.some((l) => /the Lighthouse session was refused during .*; logging in again/.test(l))).toBe(
      true,
    );
    expect(sim.issuedSessions.length).toBeGreaterThanOrEqual(2);
    for (const session of sim.issuedSessions) expect(masked).toContain(session);
    noPartOf(`${JSON.stringify(result)}\n${logs.join('\n')}`, [
      CANARY.user,
      CANARY.password,
      ...sim.issuedSessions,
    ]);
  }, 60_000);
});
