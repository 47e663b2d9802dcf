import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Device, Route } from '../../src/model/types.ts';
import { f5Driver } from '../../src/platforms/f5/driver.ts';
import { f5 } from '../../src/platforms/f5/index.ts';
import { type RotateOptions, rotateDevice } from '../../src/rotate/rotate-device.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { F5Simulator } from '../lab/f5/simulator.ts';
import { type IssuanceLab, startIssuanceLab } from '../lab/issuance-lab.ts';
import { servedSpkiPin } from '../lab/pin.ts';

let ca: IssuanceLab;
const sims: F5Simulator[] = [];
const PASSWORD = 'Tr0ub4dor&3:with-colon';
/** A credential whose every part is easy to find: neither side of its colon may reach any message. */
const CANARY = { user: 'canary-user-7f3a', password: 'canary-pass-9b2c' };

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
async function setup(
  target: 'client-ssl' | 'httpd',
  password = PASSWORD,
  login: { user: string; password: string; known: boolean } = { user: 'admin', password, known: true },
) {
  const name = `lb${counter++}.example.com`;
  const sim = new F5Simulator(name, {
    admin: PASSWORD,
    ...(login.known && login.user !== 'admin' ? { [login.user]: login.password } : {}),
  });
  sim.addClientSslProfile('www');
  sim.virtualServerProfile = '/Common/www';
  await sim.start();
  sims.push(sim);
  ca.dns.addAliases([name, `www.${name}`]);
  const pin = await servedSpkiPin({ host: '127.0.0.1', port: sim.port, servername: name });
  const device: Device = {
    system_name: name.split('.')[0]!,
    common_name: name,
    subject_alternative_names: [`www.${name}`],
    host_platform: 'f5',
    os_version: '16.1.4',
    data_center: 'lab',
    ip_address: '127.0.0.1',
    certificate_authority: 'lab',
    certificate_validation: false,
    connection: { port: sim.port, tls_port: sim.virtualPort, credentials: 'F5_LAB', tls_spki_sha256: pin },
  };
  const route: Route = {
    name: 'f5',
    match: { host_platform: 'f5' },
    platform: 'f5',
    options:
      target === 'client-ssl'
        ? { target, client_ssl_profile: '/Common/www' }
        : { target, restart_timeout: '3s' },
  };
  const secret = `${login.user}:${login.password}`;
  const received: string[] = [];
  const logs: string[] = [];
  const masked: string[] = [];
  const options: RotateOptions = {
    driver: f5Driver,
    driverOptions: f5.options.parse(route.options),
    key: ca.authority.key!,
    rootsPem: ca.roots,
    secret: () => secret,
    mask: (value) => masked.push(value),
    verifyTimeoutMs: 3000,
    audit: (d) => received.push(d),
    log: (phase, line) => logs.push(`${phase}: ${line}`),
    order: (csrPem, d) => ca.order(csrPem, d, undefined),
  };
  return { sim, device, route, options, received, logs, masked };
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

const servedSerial = async (port: number, name: string) =>
  (await fetchServedChain({ host: '127.0.0.1', port, servername: name }))[0]!.serialNumber.toLowerCase();

function expectNoLeak(result: unknown, received: string[], logs: string[]) {
  for (const data of received) expect(data).not.toMatch(/PRIVATE KEY/);
  expect(JSON.stringify(result)).not.toContain(PASSWORD);
  expect(logs.join('\n')).not.toContain(PASSWORD);
}

describe('f5 against the BIG-IP simulator', () => {
  it('rotates a client-ssl profile: key and CSR made on the BIG-IP with every SAN, full chain served', async () => {
    const { sim, device, route, options, received, logs } = await setup('client-ssl');
    const managementBefore = await servedSerial(sim.port, device.common_name);
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    const chain = await fetchServedChain({
      host: '127.0.0.1',
      port: sim.virtualPort,
      servername: device.common_name,
    });
    expect(chain[0]!.serialNumber.toLowerCase()).toBe(result.certificate!.serial);
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(new X509Certificate(chain[0]!.raw).subjectAltName).toContain(`DNS:www.${device.common_name}`);
    // The management interface is not the target: it still serves its own certificate.
    expect(await servedSerial(sim.port, device.common_name)).toBe(managementBefore);
    expect(sim.servedPaths().profile.chain).toMatch(/^\/Common\/ottr-.*-chain\.crt$/);
    expect([...sim.csrs.keys()]).toEqual([]); // the CSR object is removed after success
    expectNoLeak(result, received, logs);
    // bigip_ssl_csr's way, not util bash (refused to least-privilege users): unix-mv and file-transfer/bulk.
    expect(sim.log).not.toContain('POST /mgmt/tm/util/bash');
    expect(sim.log).toContain('POST /mgmt/tm/util/unix-mv');
    expect(sim.log.filter((l) => l.startsWith('POST /mgmt/shared/file-transfer/uploads/'))).toHaveLength(2);
  }, 60_000);

  it('a second rotation the same day works and removes the first rotation’s objects, never the factory ones', async () => {
    const { sim, device, route, options } = await setup('client-ssl');
    const first = await rotateDevice(device, route, options);
    const firstCert = sim.servedPaths().profile.cert;
    const second = await rotateDevice(device, route, options);
    expect([first.status, second.status]).toEqual(['rotated', 'rotated']);
    expect(sim.servedPaths().profile.cert).not.toBe(firstCert);
    expect(sim.certificates.has(firstCert)).toBe(false);
    expect(sim.keys.has(firstCert.replace(/\.crt$/, '.key'))).toBe(false);
    expect(sim.certificates.has('/Common/default.crt')).toBe(true);
    expect(sim.keys.has('/Common/default.key')).toBe(true);
  }, 60_000);

  it('rotates the management httpd (as Ottr did): restart awaited by polling, then trusted through the CA', async () => {
    const { sim, device, route, options, received, logs } = await setup('httpd');
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(await servedSerial(sim.port, device.common_name)).toBe(result.certificate!.serial);
    expectNoLeak(result, received, logs);
    // After the restart the cleanup reached httpd through the key this session installed (the pin is stale).
    expect(result.warnings).toBeUndefined();
    // The pin now matches nothing, and with validation off nothing else is trusted.
    const stale = await rotateDevice(device, route, { ...options, managementRootsPem: ca.roots });
    expect(stale.error?.message).toMatch(/certificate_validation is false, so only the pinned key/);
    // Validating, the next rotation trusts the interface through the authority's roots, granted for management.
    const validated = validatedByTheAuthority(device, options);
    const again = await rotateDevice(validated.device, route, validated.options);
    expect(again.status, JSON.stringify(again.error)).toBe('rotated');
    expect(again.warnings).toBeUndefined();
    expect(await servedSerial(sim.port, device.common_name)).toBe(again.certificate!.serial);
  }, 60_000);

  it('logs in again when the token expires mid-rotation', async () => {
    const { sim, device, route, options } = await setup('client-ssl');
    sim.faults.add('expireTokenAfterCsr');
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(sim.log.filter((l) => l === 'POST /mgmt/shared/authn/login')).toHaveLength(2);
  }, 60_000);

  it('a dropped upload or an error answered with HTTP 200 fails the install and removes the new key', async () => {
    for (const fault of ['dropOnUpload', 'error200OnInstall'] as const) {
      const { sim, device, route, options } = await setup('client-ssl');
      const before = await servedSerial(sim.virtualPort, device.common_name);
      sim.faults.add(fault);
      const result = await rotateDevice(device, route, options);
      expect(result.status).toBe('failed');
      expect(result.error).toMatchObject({ phase: 'install', class: 'install_failed' });
      expect(await servedSerial(sim.virtualPort, device.common_name)).toBe(before);
      expect([...sim.keys.keys()].filter((k) => k.includes('ottr-'))).toEqual([]);
      expect([...sim.csrs.keys()]).toEqual([]);
    }
  }, 60_000);

  it('a refused profile update rolls back; the old certificate is still served and the new objects are gone', async () => {
    const { sim, device, route, options } = await setup('client-ssl');
    const before = await servedSerial(sim.virtualPort, device.common_name);
    sim.faults.add('profileUpdateFail');
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'install',
      class: 'activate_failed',
      message: expect.stringMatching(
        /client-ssl profile update: 01070313:3: .*key values mismatch \(HTTP 400\)/,
      ),
    });
    expect(result.status).toBe('rolled_back');
    expect(await servedSerial(sim.virtualPort, device.common_name)).toBe(before);
    expect([...sim.certificates.keys()].filter((k) => k.includes('ottr-'))).toEqual([]);
  }, 60_000);

  it('httpd coming back with the old certificate is rolled back, and the device keeps a working certificate', async () => {
    const { sim, device, route, options } = await setup('httpd');
    const before = await servedSerial(sim.port, device.common_name);
    sim.faults.add('httpdRestartServesOld');
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'install',
      class: 'activate_failed',
      message: expect.stringMatching(/httpd did not come back with the new certificate/),
    });
    expect(result.rollback?.restored).toBe(true);
    expect(sim.httpd.sslCertfile).toBe('/etc/httpd/conf/ssl.crt/server.crt');
    expect(await servedSerial(sim.port, device.common_name)).toBe(before);
  }, 60_000);

  it('refuses wrong credentials without repeating them', async () => {
    const { device, route, options, logs } = await setup('client-ssl', 'wrong-password');
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'precheck',
      message: expect.stringMatching(
        /F5 login refused for the credential F5_LAB: Authentication failed\. \(HTTP 401\)/,
      ),
    });
    expect(JSON.stringify(result)).not.toContain('wrong-password');
    expect(logs.join('\n')).not.toContain('wrong-password');
  });

  it('does not talk to a management interface that is neither pinned nor trusted', async () => {
    const { sim, device, route, options } = await setup('client-ssl');
    const result = await rotateDevice(
      { ...device, connection: { ...device.connection, tls_spki_sha256: `${'A'.repeat(43)}=` } },
      route,
      options,
    );
    expect(result.error).toMatchObject({
      phase: 'precheck',
      message: expect.stringMatching(/is not trusted for lb\d+\.example\.com/),
    });
    expect(sim.log).toEqual([]);
  });
});

describe('f5 never lets a credential or an auth token into a message', () => {
  const noPartOf = (text: string, secrets: string[]) => {
    for (const secret of secrets) expect(text).not.toContain(secret);
  };

  it('a refused login names the credential, not its user, and repeats no part of it', async () => {
    for (const known of [false, true]) {
      const { sim, device, route, options, logs, masked } = await setup('client-ssl', PASSWORD, {
        ...CANARY,
        known,
      });
      if (known) sim.faults.add('authFail');
      const result = await rotateDevice(device, route, options);
      expect(result.error).toMatchObject({
        phase: 'precheck',
        message: 'F5 login refused for the credential F5_LAB: Authentication failed. (HTTP 401)',
      });
      noPartOf(`${JSON.stringify(result)}\n${logs.join('\n')}`, [CANARY.user, CANARY.password]);
      expect(sim.issuedTokens).toEqual([]);
      expect(masked).not.toContain(CANARY.user);
    }
  });

  it('every token is masked the moment it is issued, also the one after the first expired', async () => {
    const { sim, device, route, options, logs, masked } = await setup('client-ssl', PASSWORD, {
      ...CANARY,
      known: true,
    });
    sim.faults.add('expireTokenAfterCsr');
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(logs).toContain('csr: the F5 token was refused (expired?); logging in again');
    expect(sim.issuedTokens).toHaveLength(2);
    for (const token of sim.issuedTokens) expect(masked).toContain(token);
    noPartOf(`${JSON.stringify(result)}\n${logs.join('\n')}`, [
      CANARY.user,
      CANARY.password,
      ...sim.issuedTokens,
    ]);
  }, 60_000);
});
