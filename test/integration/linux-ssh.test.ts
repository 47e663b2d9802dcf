import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Authority, Device, Route } from '../../src/model/types.ts';
import { linuxSshDriver } from '../../src/platforms/linux-ssh/driver.ts';
import { linuxSsh } from '../../src/platforms/linux-ssh/index.ts';
import { type RotateOptions, rotateDevice } from '../../src/rotate/rotate-device.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { type LinuxHost, startLinuxHost } from '../lab/devices/linux-host.ts';
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
const hosts: LinuxHost[] = [];

beforeAll(async () => {
  ca = await startIssuanceLab(authority);
  lab = ca.dns;
  roots = ca.roots;
}, 60_000);
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});
afterAll(async () => {
  await ca?.stop();
});

let counter = 0;
async function setup(
  overrides: { hostKey?: string; reload?: (host: LinuxHost) => string; sshPort?: number } = {},
) {
  const name = `web${counter++}.example.com`;
  const names = [name, `status.${name}`];
  const host = await startLinuxHost(names);
  hosts.push(host);
  lab.addAliases(names);
  const device: Device = {
    system_name: name.split('.')[0]!,
    common_name: name,
    subject_alternative_names: [`status.${name}`],
    host_platform: 'linux',
    os_version: '12',
    data_center: 'lab',
    ip_address: '127.0.0.1',
    certificate_authority: 'lab',
    connection: {
      port: overrides.sshPort ?? host.sshPort,
      tls_port: host.tlsPort,
      username: host.username,
      credentials: 'LAB_SSH_KEY',
      ssh_host_key: overrides.hostKey ?? host.hostKeyFingerprint,
    },
  };
  const route: Route = {
    name: 'linux',
    match: { host_platform: 'linux' },
    platform: 'linux-ssh',
    options: {
      certificate_path: host.certificatePath,
      key_path: host.keyPath,
      reload_command: overrides.reload?.(host) ?? host.reloadCommand,
    },
  };
  const received: string[] = [];
  const options: RotateOptions = {
    driver: linuxSshDriver,
    driverOptions: linuxSsh.options.parse(route.options),
    key: authority.key!,
    rootsPem: roots,
    secret: (secretName) => (secretName === 'LAB_SSH_KEY' ? host.clientKeyPem : ''),
    verifyTimeoutMs: 5000,
    audit: (data) => received.push(data),
    order: (csrPem, d) => ca.order(csrPem, d, undefined),
  };
  return { host, device, route, options, received };
}

const served = async (host: LinuxHost, servername: string) =>
  (
    await fetchServedChain({ host: '127.0.0.1', port: host.tlsPort, servername })
  )[0]!.serialNumber.toLowerCase();

describe('linux-ssh against real sshd and nginx', () => {
  it('rotates: nginx serves the new certificate, made from a key generated on the host that never crossed', async () => {
    const { host, device, route, options, received } = await setup();
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(await served(host, device.common_name)).toBe(result.certificate!.serial);
    const keyOnHost = readFileSync(host.keyPath, 'utf8');
    const keyBody = keyOnHost.replace(/-----[^-]+-----|\s/g, '');
    expect(keyOnHost).toMatch(/PRIVATE KEY/);
    for (const data of received) {
      expect(data).not.toMatch(/PRIVATE KEY/);
      expect(data.replace(/\s/g, '')).not.toContain(keyBody.slice(0, 40));
    }
    expect(received.join('')).toMatch(/BEGIN CERTIFICATE REQUEST/);
    // The previous files are gone after verification; the live ones stay.
    expect(readFileSync(host.certificatePath, 'utf8')).toContain('BEGIN CERTIFICATE');
  }, 60_000);

  it('refuses a host whose key does not match the pin, before authenticating', async () => {
    const { host, device, route, options } = await setup({
      hostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    });
    const result = await rotateDevice(device, route, options);
    expect(result).toMatchObject({
      status: 'failed',
      error: { phase: 'precheck', class: 'device_unreachable' },
    });
    expect(result.error!.message).toMatch(/host key mismatch .* presented SHA256:/);
    expect(host.sshdLog()).not.toMatch(/Accepted publickey/);
  }, 30_000);

  it('rolls back when the reload fails, and nginx serves the old certificate', async () => {
    const { host, device, route, options } = await setup({
      reload: (h) =>
        `if [ -f ${h.dir}/fail-once ]; then rm ${h.dir}/fail-once; echo 'nginx: [emerg] simulated' >&2; exit 1; fi; ${h.reloadCommand}`,
    });
    writeFileSync(join(host.dir, 'fail-once'), '');
    const before = await served(host, device.common_name);
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('rolled_back');
    expect(result.error).toMatchObject({
      phase: 'install',
      class: 'activate_failed',
      message: expect.stringMatching(/simulated/),
    });
    expect(result.rollback).toMatchObject({ restored: true });
    expect(await served(host, device.common_name)).toBe(before);
  }, 60_000);

  it('fails cleanly when the host is unreachable', async () => {
    const { host, device, route, options } = await setup({ sshPort: 1 });
    const before = readFileSync(host.certificatePath, 'utf8');
    const result = await rotateDevice(device, route, options);
    expect(result).toMatchObject({
      status: 'failed',
      error: { phase: 'precheck', class: 'device_unreachable' },
    });
    expect(readFileSync(host.certificatePath, 'utf8')).toBe(before);
  }, 30_000);

  it('runs pre and post hooks around the switch', async () => {
    const { host, device, route, options } = await setup();
    const hooks = join(host.dir, 'hooks');
    for (const kind of ['pre', 'post']) {
      mkdirSync(join(hooks, kind), { recursive: true });
      writeFileSync(
        join(hooks, kind, '10-mark.sh'),
        `#!/bin/sh\necho ${kind} >> ${join(host.dir, 'hooks.log')}\n`,
        { mode: 0o755 },
      );
    }
    const withHooks = { ...route, options: { ...route.options, hooks_dir: hooks } };
    const result = await rotateDevice(device, withHooks, {
      ...options,
      driverOptions: linuxSsh.options.parse(withHooks.options),
    });
    expect(result.status).toBe('rotated');
    expect(readFileSync(join(host.dir, 'hooks.log'), 'utf8')).toBe('pre\npost\n');
  }, 60_000);

  it('never lets a hostile name reach a shell unquoted', async () => {
    const { device, route, options } = await setup();
    // deviceNames() lowercases every name, so the file a payload would create must have an all-lowercase path
    // (a mkdtemp directory has capitals, and a payload aimed there would touch a different, lowercased path).
    const pwned = `/tmp/ottr-pwned-${randomBytes(8).toString('hex')}`;
    expect(pwned).toBe(pwned.toLowerCase());
    const hostile: Device = {
      ...device,
      subject_alternative_names: [
        `x.example.com'; touch ${pwned}; echo '`,
        `x.example.com"; touch ${pwned}; echo "`,
        `$(touch ${pwned})`,
        `\`touch ${pwned}\``,
        `a;touch ${pwned}`,
      ],
    };
    try {
      const result = await rotateDevice(hostile, route, options);
      expect(existsSync(pwned)).toBe(false);
      expect(result.status).toBe('failed');
      // The hostile names did reach the host's shell: the key and CSR were made there before anything refused them.
      expect(result.phases.map((p) => p.name)).toContain('csr');
    } finally {
      rmSync(pwned, { force: true });
    }
  }, 30_000);
});
