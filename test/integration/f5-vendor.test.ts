import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Device, Route } from '../../src/model/types.ts';
import { f5Driver } from '../../src/platforms/f5/driver.ts';
import { f5 } from '../../src/platforms/f5/index.ts';
import { type RotateOptions, rotateDevice } from '../../src/rotate/rotate-device.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { F5Simulator, type F5SimulatorOptions } from '../lab/f5/simulator.ts';
import { type IssuanceLab, startIssuanceLab } from '../lab/issuance-lab.ts';
import { servedSpkiPin } from '../lab/pin.ts';

/**
 * Issue 14's F5 findings 1–5, each against the simulator's vendor-shaped behaviour (test/lab/f5/BEHAVIOUR.md):
 * the httpd target through adc fileobject's cachePath, the configuration saved and synced to the device group,
 * the CSR read without util bash, dual RSA/ECDSA certKeyChain entries merged, httpd restarted on its service.
 */
let ca: IssuanceLab;
const sims: F5Simulator[] = [];
const PASSWORD = 'Tr0ub4dor&3:with-colon';

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
interface Setup {
  target: 'client-ssl' | 'httpd';
  user?: string;
  simulator?: F5SimulatorOptions;
  routeOptions?: Record<string, unknown>;
  dual?: boolean;
}

async function setup({ target, user = 'admin', simulator = {}, routeOptions = {}, dual = false }: Setup) {
  const name = `lbv${counter++}.example.com`;
  const sim = new F5Simulator(name, { admin: PASSWORD, [user]: PASSWORD }, simulator);
  sim.addClientSslProfile('www', { dual });
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
    os_version: '14.1.2.1',
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
    options: {
      ...(target === 'client-ssl'
        ? { target, client_ssl_profile: '/Common/www' }
        : { target, restart_timeout: '3s' }),
      ...routeOptions,
    },
  };
  const options: RotateOptions = {
    driver: f5Driver,
    driverOptions: f5.options.parse(route.options),
    key: ca.authority.key!,
    rootsPem: ca.roots,
    secret: () => `${user}:${PASSWORD}`,
    verifyTimeoutMs: 3000,
    log: () => {},
    order: (csrPem, d) => ca.order(csrPem, d, undefined),
  };
  return { sim, device, route, options };
}

const servedPin = (port: number, servername: string) =>
  servedSpkiPin({ host: '127.0.0.1', port, servername });

const servedSerial = async (port: number, name: string) =>
  (await fetchServedChain({ host: '127.0.0.1', port, servername: name }))[0]!.serialNumber.toLowerCase();

/** The certificate a client that can verify only RSA signatures is given. */
function servedToRsaClient(port: number, servername: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername,
      rejectUnauthorized: false,
      sigalgs: 'RSA-PSS+SHA256:RSA+SHA256',
    });
    socket.once('secureConnect', () => {
      resolve(new X509Certificate(socket.getPeerCertificate().raw));
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('f5 against vendor-shaped BIG-IP behaviour (issue 14, findings 1–5)', () => {
  it('finding 1: the httpd target reads cachePath from adc fileobject, not from sys file ssl-*', async () => {
    const { sim, device, route, options } = await setup({ target: 'httpd' });
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(await servedSerial(sim.port, device.common_name)).toBe(result.certificate!.serial);
    expect(sim.log).toContain('GET /mgmt/tm/adc/fileobject/ssl-cert');
    expect(sim.httpd.sslCertfile).toMatch(
      /^\/config\/filestore\/files_d\/Common_d\/certificate_d\/:Common:ottr-/,
    );
  }, 60_000);

  it('finding 1: a sys httpd binding to a filestore file that is gone is refused before anything changes', async () => {
    const { sim, device, route, options } = await setup({ target: 'httpd' });
    const first = await rotateDevice(device, route, options);
    expect(first.status, JSON.stringify(first.error)).toBe('rotated');
    const pinned = {
      ...device,
      connection: { ...device.connection, tls_spki_sha256: await servedPin(sim.port, device.common_name) },
    };
    const bound = sim.httpd.sslCertfile;
    const object = [...sim.certificates.keys()].find((p) =>
      bound.includes(`:Common:${p.split('/').pop()}_`),
    )!;
    sim.certificates.delete(object); // as if the object had been deleted behind httpd's back
    const result = await rotateDevice(pinned, route, options);
    expect(result.error).toMatchObject({
      phase: 'precheck',
      message: expect.stringMatching(
        /sys httpd sslCertfile names .* does not list: a rollback could not restore it/,
      ),
    });
    expect(sim.httpd.sslCertfile).toBe(bound);
  }, 60_000);

  it('finding 2: the configuration is saved and synced to the device group the route names', async () => {
    const { sim, device, route, options } = await setup({
      target: 'client-ssl',
      simulator: { deviceGroup: 'failover-group' },
      routeOptions: { device_group: 'failover-group' },
    });
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    const served = sim.servedPaths().profile.cert;
    expect(served).toMatch(/^\/Common\/ottr-/);
    // A reboot loads the saved configuration: the new binding, and no object cleanup deleted.
    expect(sim.savedConfig().profiles.get('/Common/www')!.certKeyChain[0]!.cert).toBe(served);
    // On failover the peer serves what config-sync carried.
    expect(sim.peer!.profiles.get('/Common/www')!.certKeyChain[0]!.cert).toBe(served);
    expect(sim.log).toContain('POST /mgmt/tm/sys/config');
    expect(sim.log).toContain('POST /mgmt/tm/cm');
    expect(sim.reboot()).toEqual([]);
    expect(await servedSerial(sim.virtualPort, device.common_name)).toBe(result.certificate!.serial);
  }, 60_000);

  it('finding 2: a device group that never reaches In Sync fails the activation and rolls back', async () => {
    const { sim, device, route, options } = await setup({
      target: 'client-ssl',
      simulator: { deviceGroup: 'failover-group' },
      routeOptions: { device_group: 'failover-group', sync_timeout: '1s' },
    });
    const before = await servedSerial(sim.virtualPort, device.common_name);
    sim.faults.add('peerDisconnected');
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'install',
      class: 'activate_failed',
      message: expect.stringMatching(/config-sync to failover-group: .*Disconnected/),
    });
    expect(await servedSerial(sim.virtualPort, device.common_name)).toBe(before);
  }, 60_000);

  it('finding 3: a least-privilege user without util bash gets the CSR through unix-mv and file-transfer', async () => {
    const { sim, device, route, options } = await setup({
      target: 'client-ssl',
      user: 'certops',
      simulator: { roles: { certops: 'manager' } },
    });
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(sim.log).not.toContain('POST /mgmt/tm/util/bash');
    expect(sim.log.some((l) => l.startsWith('GET /mgmt/shared/file-transfer/bulk/'))).toBe(true);
    expect([...sim.files.keys()].filter((f) => f.startsWith('/var/config/rest/bulk/'))).toEqual([]);
  }, 60_000);

  it('finding 4: a dual RSA/ECDSA profile keeps its RSA entry when the ECDSA entry is rotated', async () => {
    const { sim, device, route, options } = await setup({ target: 'client-ssl', dual: true });
    const rsaBefore = await servedToRsaClient(sim.virtualPort, device.common_name);
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    const entries = sim.servedPaths().entries;
    expect(entries).toHaveLength(2);
    expect(entries.find((e) => e.name === 'rsa-default')).toMatchObject({
      cert: '/Common/rsa-default.crt',
      key: '/Common/rsa-default.key',
    });
    expect(entries.find((e) => e.name === 'default')!.cert).toMatch(/^\/Common\/ottr-/);
    const rsaAfter = await servedToRsaClient(sim.virtualPort, device.common_name);
    expect(rsaAfter.serialNumber).toBe(rsaBefore.serialNumber);
  }, 60_000);

  it('finding 4: among several entries and none of the new key type, the driver refuses to guess', async () => {
    const { sim, device, route, options } = await setup({ target: 'client-ssl', dual: true });
    const profile = sim.profiles.get('/Common/www')!;
    const rsa = profile.certKeyChain.find((e) => e.name === 'rsa-default')!;
    profile.certKeyChain = [rsa, { ...rsa, name: 'rsa-other' }]; // no ECDSA entry for the lab's ECDSA key
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'install',
      message: expect.stringMatching(
        /2 certKeyChain entries \(rsa-private, rsa-private\) and not exactly one for a ec key/,
      ),
    });
    expect(sim.servedPaths().entries.map((e) => e.name)).toEqual(['rsa-default', 'rsa-other']);
    expect([...sim.keys.keys()].filter((k) => k.includes('ottr-'))).toEqual([]);
  }, 60_000);

  it('finding 5: httpd is restarted through its own service resource, as f5-common-python models it', async () => {
    const { sim, device, route, options } = await setup({ target: 'httpd' });
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(sim.log).toContain('POST /mgmt/tm/sys/service/httpd');
    expect(sim.log).not.toContain('POST /mgmt/tm/sys/service');
  }, 60_000);
});
