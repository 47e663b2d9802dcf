import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { certificateEvidence } from '../../src/gitops/accept-results.ts';
import type { Authority, Device, Route } from '../../src/model/types.ts';
import { type RotateOptions, rotateDevice } from '../../src/rotate/rotate-device.ts';
import { pemCertificates } from '../../src/util/pem.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { TlsDevice } from '../lab/devices/tls-device.ts';
import type { DnsLab } from '../lab/dns/lab.ts';
import { type IssuanceLab, startIssuanceLab } from '../lab/issuance-lab.ts';

let ca: IssuanceLab;
let lab: DnsLab;
let roots: string[];
const authority: Authority = {
  directory: 'https://unused.invalid/dir',
  account_key_secret: 'LAB_ACCOUNT_KEY',
  key: { type: 'ecdsa', curve: 'P-256' },
};
const route: Route = { name: 'lab', match: { host_platform: 'linux' }, platform: 'linux-ssh' };
const devices: TlsDevice[] = [];

beforeAll(async () => {
  ca = await startIssuanceLab(authority);
  lab = ca.dns;
  roots = ca.roots;
}, 60_000);
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.stop()));
});
afterAll(async () => {
  await ca?.stop();
});

let counter = 0;
async function setup(): Promise<{
  device: Device;
  sim: TlsDevice;
  options: RotateOptions;
  orders: () => number;
}> {
  const name = `dev${counter++}.example.com`;
  const device: Device = {
    system_name: name.split('.')[0]!,
    common_name: name,
    subject_alternative_names: [`www.${name}`],
    host_platform: 'linux',
    os_version: '12',
    data_center: 'lab',
    certificate_authority: 'lab',
  };
  lab.addAliases([name, `www.${name}`]);
  const sim = new TlsDevice([name, `www.${name}`]);
  await sim.start();
  devices.push(sim);
  let orders = 0;
  const options: RotateOptions = {
    driver: sim.driver(),
    key: authority.key!,
    rootsPem: roots,
    secret: () => 'unused',
    verifyTimeoutMs: 1500,
    rollbackTimeoutMs: 3000,
    order: (csrPem, d) => {
      orders++;
      return ca.order(csrPem, d, undefined);
    },
  };
  return { device, sim, options, orders: () => orders };
}

const servedSerial = async (sim: TlsDevice) =>
  (
    await fetchServedChain({ host: '127.0.0.1', port: sim.port, servername: sim.names[0]! })
  )[0]!.serialNumber.toLowerCase();

describe('rotateDevice through every phase', () => {
  it('rotates: the device serves the new certificate, and its key never left it', async () => {
    const { device, sim, options } = await setup();
    const before = await servedSerial(sim);
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(result.previous?.serial).toBe(before);
    expect(await servedSerial(sim)).toBe(result.certificate!.serial);
    expect(result.phases.map((p) => p.name)).toEqual([
      'precheck',
      'csr',
      'order',
      'install',
      'verify',
      'cleanup',
    ]);
    expect(result.certificate).toMatchObject({
      serial: expect.stringMatching(/^[0-9a-f]+$/),
      rotated_at: expect.any(String),
    });
    for (const message of sim.received) expect(message).not.toMatch(/PRIVATE KEY/);
    expect(JSON.stringify(result)).not.toMatch(/PRIVATE KEY/);
    // The issued chain travels with the result, leaf first: the report derives the record from it.
    const chain = pemCertificates(result.certificate!.pem!).map((pem) => new X509Certificate(pem));
    expect(chain.length).toBeGreaterThan(1);
    expect(chain[0]!.serialNumber.toLowerCase()).toBe(result.certificate!.serial);
    const evidence = certificateEvidence(
      result,
      device,
      { rootsPem: roots },
      {
        notBeforeFloor: Date.now() - 2 * 3_600_000,
        now: new Date(),
      },
    );
    expect(evidence).not.toHaveProperty('problems');
  });

  it('rolls back when the device keeps serving the old certificate after activation', async () => {
    const { device, sim, options } = await setup();
    const before = await servedSerial(sim);
    sim.faults.add('keepsServingOld');
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('rolled_back');
    expect(result.certificate).toBeUndefined();
    expect(result.previous?.serial).toBe(before);
    expect(result.error).toMatchObject({ phase: 'verify', class: 'verify_failed' });
    expect(result.error!.message).toMatch(new RegExp(`serves serial ${before}, not the issued [0-9a-f]+`));
    expect(result.rollback).toEqual({
      restored: true,
      message: `the previous certificate (serial ${before}) is served again`,
    });
    expect(result.phases.map((p) => p.name)).toEqual([
      'precheck',
      'csr',
      'order',
      'install',
      'verify',
      'rollback',
    ]);
    expect(await servedSerial(sim)).toBe(before);
  });

  it('rolls back when activation fails, and the old certificate is still served', async () => {
    const { device, sim, options } = await setup();
    const before = await servedSerial(sim);
    sim.faults.add('activateFails');
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('rolled_back');
    expect(result.certificate).toBeUndefined();
    expect(result.error).toMatchObject({
      phase: 'install',
      class: 'activate_failed',
      message: expect.stringMatching(/reload failed/),
    });
    expect(result.rollback).toEqual({
      restored: true,
      message: `the previous certificate (serial ${before}) is served again`,
    });
    expect(result.phases.map((p) => p.name)).toEqual(['precheck', 'csr', 'order', 'install', 'rollback']);
    expect(await servedSerial(sim)).toBe(before);
  });

  it('reports a rollback that leaves the new certificate served as not restored', async () => {
    const { device, sim, options } = await setup();
    const before = await servedSerial(sim);
    // The driver's rollback does nothing: the new certificate stays served.
    const driver = options.driver;
    const leaky: RotateOptions['driver'] = {
      name: driver.name,
      connect: async (context) => ({ ...(await driver.connect(context)), rollback: async () => {} }),
    };
    let issuedSerial = '';
    const result = await rotateDevice(device, route, {
      ...options,
      driver: leaky,
      // Verification fails although the new certificate is served: its issuer is not the expected one.
      expectedIssuers: ['Nobody Inc'],
      order: async (...args) => {
        const issued = await options.order(...args);
        issuedSerial = issued.serial;
        return issued;
      },
    });
    expect(issuedSerial).not.toBe('');
    expect(result.status).toBe('failed');
    expect(result.certificate).toBeUndefined();
    expect(result.error).toMatchObject({ phase: 'verify', class: 'verify_failed' });
    expect(result.error!.message).toMatch(/is not one of Nobody Inc/);
    expect(result.rollback).toEqual({
      restored: false,
      message: `after rollback the device serves ${issuedSerial}, not ${before}`,
    });
    expect(await servedSerial(sim)).toBe(issuedSerial);
  }, 60_000);

  it('fails at precheck when the device is unreachable, ordering nothing', async () => {
    const { device, sim, options, orders } = await setup();
    sim.faults.add('unreachable');
    const result = await rotateDevice(device, route, options);
    expect(result).toMatchObject({
      status: 'failed',
      error: { phase: 'precheck', class: 'device_unreachable' },
    });
    expect(orders()).toBe(0);
  });

  it('refuses a CSR with a name the inventory does not list, and the device drops the unused key', async () => {
    const { device, sim, options, orders } = await setup();
    sim.faults.add('csrWithForeignName');
    const result = await rotateDevice(device, route, options);
    expect(result).toMatchObject({
      status: 'failed',
      error: { phase: 'csr', class: 'csr_rejected', message: expect.stringMatching(/intruder.example.org/) },
    });
    expect(orders()).toBe(0);
    expect(sim.pendingKeyCount).toBe(0);
  });

  it('dry run: precheck and CSR check only', async () => {
    const { device, sim, options, orders } = await setup();
    const result = await rotateDevice(device, route, { ...options, dryRun: true });
    expect(result).toMatchObject({ status: 'skipped', dry_run: true });
    expect(result.phases.map((p) => p.name)).toEqual(['precheck', 'csr']);
    expect(orders()).toBe(0);
    expect(sim.pendingKeyCount).toBe(0);
  });
});
