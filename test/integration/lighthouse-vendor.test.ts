import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Device, Route } from '../../src/model/types.ts';
import { lighthouseDriver } from '../../src/platforms/lighthouse/driver.ts';
import { lighthouse } from '../../src/platforms/lighthouse/index.ts';
import { spkiSha256 } from '../../src/platforms/shared/https-client.ts';
import { type RotateOptions, rotateDevice } from '../../src/rotate/rotate-device.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { type IssuanceLab, startIssuanceLab } from '../lab/issuance-lab.ts';
import { LighthouseSimulator } from '../lab/lighthouse/simulator.ts';

/**
 * Issue 14, findings 11 and 12: the Lighthouse as its REST v3.7 RAML (opengear/oglhclient) and Ottr's
 * lighthouse-21.x platform show it, not as the first simulator pictured it. Sources: test/lab/lighthouse/BEHAVIOUR.md.
 */

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

let ca: IssuanceLab;
const sims: LighthouseSimulator[] = [];
const PASSWORD = 'Lh-vendor-s3cret';

beforeAll(async () => {
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
async function setup(routeOptions: Record<string, unknown> = {}, sans?: string[]) {
  const name = `lhv${counter++}.example.com`;
  const sim = new LighthouseSimulator(name, { root: PASSWORD });
  await sim.start();
  sims.push(sim);
  ca.dns.addAliases([name, ...(sans ?? [])]);
  const served = (await fetchServedChain({ host: '127.0.0.1', port: sim.port, servername: name }))[0]!;
  const device: Device = {
    system_name: name.split('.')[0]!,
    common_name: name,
    ...(sans ? { subject_alternative_names: sans } : {}),
    host_platform: 'lighthouse',
    os_version: '24.07',
    data_center: 'lab',
    ip_address: '127.0.0.1',
    certificate_authority: 'lab',
    certificate_validation: false,
    connection: { port: sim.port, credentials: 'LIGHTHOUSE_LAB', tls_spki_sha256: spkiSha256(served) },
  };
  const route: Route = {
    name: 'lighthouse',
    match: { host_platform: 'lighthouse' },
    platform: 'lighthouse',
    options: { restart_timeout: '10s', ...routeOptions },
  };
  const logs: string[] = [];
  const masked: string[] = [];
  const options: RotateOptions = {
    driver: lighthouseDriver,
    driverOptions: lighthouse.options.parse(route.options),
    key: ca.authority.key!,
    rootsPem: ca.roots,
    secret: () => `root:${PASSWORD}`,
    mask: (value) => masked.push(value),
    verifyTimeoutMs: 3000,
    log: (phase, line) => logs.push(`${phase}: ${line}`),
    order: (csrPem, d) => ca.order(csrPem, d, undefined),
  };
  return { sim, device, route, options, logs, masked, before: served.serialNumber.toLowerCase() };
}

const servedSerial = async (sim: LighthouseSimulator, name: string) =>
  (
    await fetchServedChain({ host: '127.0.0.1', port: sim.port, servername: name })
  )[0]!.serialNumber.toLowerCase();

describe('finding 11: the certificate is uploaded with its CSR object', () => {
  it('a PUT without https.csr would cancel the pending CSR, so the upload carries it (as Ottr does)', async () => {
    const { sim, device, route, options } = await setup();
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(sim.log.filter((l) => l.startsWith('CANCELLED'))).toEqual([]);
    const upload = sim.puts.find((p) => p.cert !== undefined)!;
    // The pending CSR's fields, without "csr": "new" (which would make another key and CSR).
    expect(upload.csr).toEqual({ common_name: device.common_name, key_length: 2048 });
    expect(await servedSerial(sim, device.common_name)).toBe(result.certificate!.serial);
  }, 60_000);
});

describe('finding 12: subject fields, SANs, valid_from and the login answers as the RAML has them', () => {
  it('sends the subject fields spelled as the RAML does (org_unit, not organization_unit)', async () => {
    const subject = { organization: 'Example Corp', org_unit: 'Network Operations', country: 'US' };
    const { sim, device, route, options } = await setup({ subject });
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    const csr = new x509.Pkcs10CertificateRequest(sim.csrs[0]!);
    expect(csr.subject).toContain('OU=Network Operations');
    expect(csr.subject).toContain('O=Example Corp');
    expect(csr.subject).toContain('C=US');
    expect(sim.puts.find((p) => p.cert !== undefined)!.csr).toMatchObject(subject);
  }, 60_000);

  it('refuses a device with SANs at precheck: REST v3.7 documents no SAN field; nothing is changed', async () => {
    const { sim, device, route, options, before } = await setup({}, ['console.lhv.example.com']);
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      phase: 'precheck',
      class: 'precheck_failed',
      message: expect.stringMatching(
        /Lighthouse REST API v3\.7 documents no field for subject alternative names.*console\.lhv\.example\.com.*san_field/,
      ),
    });
    expect(sim.log.filter((l) => l.startsWith('PUT'))).toEqual([]);
    expect(sim.csrs).toEqual([]);
    expect(await servedSerial(sim, device.common_name)).toBe(before);
  }, 60_000);

  it('reads valid_from in OpenSSL text form: an upload answered with the previous certificate fails at once', async () => {
    const { sim, device, route, options, before } = await setup({ restart_timeout: '5s' });
    sim.faults.add('ignoresUpload');
    const validFrom = new Date(sim.configuredCertificate().validFrom).toISOString();
    const started = Date.now();
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'install',
      class: 'activate_failed',
      message: expect.stringContaining(
        `the device answered the upload with its previous certificate (valid from ${validFrom}`,
      ),
    });
    expect(Date.now() - started).toBeLessThan(5000); // no wait for a restart that cannot come
    expect(result.status).toBe('rolled_back');
    expect(await servedSerial(sim, device.common_name)).toBe(before);
    expect(sim.hasPendingCsr()).toBe(false);
  }, 60_000);

  it('a login answered 303 (redirect to a new session) fails at precheck with a clear message', async () => {
    const { sim, device, route, options, logs, masked } = await setup();
    sim.faults.add('loginRedirect');
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'precheck',
      class: 'precheck_failed',
      message: expect.stringMatching(
        /Lighthouse login with the credential LIGHTHOUSE_LAB was answered with a redirect to another session \(HTTP 303\)/,
      ),
    });
    const sid = sim.issuedSessions[0]!;
    expect(masked).toContain(sid);
    expect(`${JSON.stringify(result)}\n${logs.join('\n')}`).not.toContain(sid);
  }, 60_000);

  it('a login that awaits a challenge response fails at precheck with a clear message', async () => {
    const { sim, device, route, options, logs, masked } = await setup();
    sim.faults.add('loginChallenge');
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'precheck',
      class: 'precheck_failed',
      message: expect.stringMatching(
        /Lighthouse login with the credential LIGHTHOUSE_LAB asks for a challenge response \(session state "challenge"\)/,
      ),
    });
    expect(sim.log.filter((l) => l.startsWith('PUT'))).toEqual([]);
    const session = sim.issuedSessions[0]!;
    expect(masked).toContain(session);
    expect(`${JSON.stringify(result)}\n${logs.join('\n')}`).not.toContain(session);
  }, 60_000);
});
