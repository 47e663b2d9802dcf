import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authority, Device, Route } from '../../src/model/types.ts';
import { linuxSsmDriver } from '../../src/platforms/linux-ssm/driver.ts';
import { linuxSsm } from '../../src/platforms/linux-ssm/index.ts';
import { type RotateOptions, rotateDevice } from '../../src/rotate/rotate-device.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { type LinuxHost, startLinuxHost } from '../lab/devices/linux-host.ts';
import { type DnsLab, LAB_CREDENTIALS } from '../lab/dns/lab.ts';
import { type IssuanceLab, startIssuanceLab } from '../lab/issuance-lab.ts';
import { SsmEmulator } from '../lab/ssm/emulator.ts';

let ca: IssuanceLab;
let lab: DnsLab;
let roots: string[];
let ssm: SsmEmulator;
let host: LinuxHost;
const savedEnv = { ...process.env };
const authority: Authority = {
  directory: 'https://unused.invalid/dir',
  account_key_secret: 'LAB_ACCOUNT_KEY',
  key: { type: 'ecdsa', curve: 'P-256' },
};
const NAMES = ['app.example.com', 'www.app.example.com'];

beforeAll(async () => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: LAB_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LAB_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'eu-west-1',
  });
  ca = await startIssuanceLab(authority);
  lab = ca.dns;
  roots = ca.roots;
  host = await startLinuxHost(NAMES);
  lab.addAliases(NAMES);
  ssm = new SsmEmulator();
  await ssm.start();
  ssm.instances.push({
    id: 'i-0a1b2c3d4e5f60718',
    tags: { Name: 'app', 'ottr:common_name': NAMES[0]! },
    online: true,
    dir: host.dir,
  });
  ssm.instances.push({ id: 'i-0fedcba9876543210', tags: { Name: 'twin' }, online: true, dir: host.dir });
  ssm.instances.push({ id: 'i-0aaaaaaaaaaaaaaa1', tags: { Name: 'twin' }, online: true, dir: host.dir });
}, 60_000);

afterAll(async () => {
  await ssm?.stop();
  await host?.stop();
  await ca?.stop();
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
});

function setup(connection: Device['connection']) {
  const device: Device = {
    system_name: 'app',
    common_name: NAMES[0]!,
    subject_alternative_names: [NAMES[1]!],
    host_platform: 'linux',
    os_version: '2023',
    device_model: 'ec2',
    data_center: 'lab',
    ip_address: '127.0.0.1',
    certificate_authority: 'lab',
    connection: { tls_port: host.tlsPort, ...connection },
  };
  const route: Route = {
    name: 'linux-aws',
    match: { host_platform: 'linux' },
    platform: 'linux-ssm',
    options: {
      certificate_path: host.certificatePath,
      key_path: host.keyPath,
      reload_command: host.reloadCommand,
    },
  };
  const received: string[] = [];
  const options: RotateOptions = {
    driver: linuxSsmDriver({ endpoint: ssm.endpoint, baseDelayMs: 5 }),
    driverOptions: linuxSsm.options.parse(route.options),
    key: authority.key!,
    rootsPem: roots,
    secret: () => '',
    verifyTimeoutMs: 5000,
    audit: (data) => received.push(data),
    order: (csrPem, d) => ca.order(csrPem, d, undefined),
  };
  return { device, route, options, received };
}

const servedSerial = async () =>
  (
    await fetchServedChain({ host: '127.0.0.1', port: host.tlsPort, servername: NAMES[0]! })
  )[0]!.serialNumber.toLowerCase();

describe('linux-ssm through the SSM emulator', () => {
  it('rotates by instance id: nginx serves the new certificate, no private key came back', async () => {
    const { device, route, options, received } = setup({ instance_id: 'i-0a1b2c3d4e5f60718' });
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(await servedSerial()).toBe(result.certificate!.serial);
    expect(received.join('')).toMatch(/BEGIN CERTIFICATE REQUEST/);
    for (const data of received) expect(data).not.toMatch(/PRIVATE KEY/);
    expect(ssm.requests).toContain('GetCommandInvocation');
  }, 60_000);

  it('finds the instance by its tag and survives throttling', async () => {
    const { device, route, options } = setup({ instance_tag: { key: 'ottr:common_name', value: NAMES[0]! } });
    ssm.throttleNext(3);
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(await servedSerial()).toBe(result.certificate!.serial);
  }, 60_000);

  it('refuses a tag that matches more than one instance', async () => {
    const { device, route, options } = setup({ instance_tag: { key: 'Name', value: 'twin' } });
    const result = await rotateDevice(device, route, options);
    expect(result.error).toMatchObject({
      phase: 'precheck',
      class: 'device_unreachable',
      message: expect.stringMatching(/exactly one Online instance; it matches 2/),
    });
  });

  it('sends the chain inside the command, never a key', async () => {
    for (const script of ssm.scripts) expect(script).not.toMatch(/PRIVATE KEY/);
    expect(ssm.scripts.some((s) => /base64 -d/.test(s))).toBe(true);
  });
});
