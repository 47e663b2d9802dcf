import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { UsageError } from '../../src/cli/command.ts';
import { createOnboardCommand } from '../../src/cli/commands/onboard.ts';
import { makeRepo, runCli, type TempRepo } from '../helpers/cli.ts';

const HOST_KEY = `SHA256:${'Ab3'.repeat(14)}x`;
const SSH_DEVICE = [
  '--system-name',
  'web-sfo1-02',
  '--common-name',
  'web2.sfo1.example.com',
  '--san',
  'www.web2.sfo1.example.com,static.web2.sfo1.example.com',
  '--host-platform',
  'linux',
  '--os-version',
  '12',
  '--data-center',
  'sfo1',
  '--certificate-authority',
  'lets_encrypt',
  '--credentials',
  'LINUX_SSH_KEY',
  '--ip-address',
  '192.0.2.52',
  '--port',
  '2222',
];
const FILE = 'inventory/sfo1/web-sfo1-02.yaml';

let repo: TempRepo;
beforeEach(() => {
  repo = makeRepo({ withSampleInventory: true });
});
afterEach(() => repo.cleanup());

/** Runs the command with scripted answers, as main would (a UsageError is exit 2). */
async function runScripted(argv: string[], answers: string[], interactive = true) {
  let stdout = '';
  let stderr = '';
  const command = createOnboardCommand(() => ({
    input: Readable.from(answers.map((a) => `${a}\n`)),
    interactive,
  }));
  const io = {
    stdout: (t: string) => {
      stdout += t;
    },
    stderr: (t: string) => {
      stderr += t;
    },
    env: {},
    cwd: repo.root,
  };
  try {
    return { code: await command.run(argv, io), stdout, stderr };
  } catch (error) {
    if (error instanceof UsageError) return { code: 2, stdout, stderr: stderr + error.message };
    throw error;
  }
}

describe('ottr onboard by flags', () => {
  it('writes a file with the schema header that validates, and prints the DNS records and the SSH hint', async () => {
    const run = await runCli(['onboard', ...SSH_DEVICE, '--ssh-host-key', HOST_KEY, '--yes'], repo.root);
    expect(run.code, run.output).toBe(0);
    const text = readFileSync(join(repo.root, FILE), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../schemas/device.schema.json');
    expect(text).toContain('# the NAME of a secret');
    expect(parse(text)).toMatchObject({
      system_name: 'web-sfo1-02',
      subject_alternative_names: ['www.web2.sfo1.example.com', 'static.web2.sfo1.example.com'],
      os_version: '12',
      connection: { credentials: 'LINUX_SSH_KEY', port: 2222, ssh_host_key: HOST_KEY },
    });
    expect(run.stdout).toContain(`wrote ${FILE} (routing rule "linux" → platform linux-ssh)`);
    expect(run.stdout).toMatch(
      /_acme-challenge\.web2\.sfo1\.example\.com\. +3600 IN CNAME web2\.sfo1\.example\.com\.acme-delegate\.example\.net\./,
    );
    expect(run.stdout).toContain('_acme-challenge.static.web2.sfo1.example.com.');
    expect(run.stdout).toContain('ssh-keyscan -p 2222 192.0.2.52 | ssh-keygen -lf -');
    expect(run.stdout).toContain(`git add ${FILE}`);
    const validate = await runCli(['validate'], repo.root);
    expect(validate.code, validate.output).toBe(0);
  });

  it('refuses to overwrite an existing file unless --force', async () => {
    const args = ['onboard', ...SSH_DEVICE, '--ssh-host-key', HOST_KEY, '--yes'];
    expect((await runCli(args, repo.root)).code).toBe(0);
    const before = readFileSync(join(repo.root, FILE), 'utf8');
    const again = await runCli([...args, '--owner', 'someone-else'], repo.root);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${FILE} already exists; nothing was written`);
    expect(readFileSync(join(repo.root, FILE), 'utf8')).toBe(before);
    const forced = await runCli([...args, '--owner', 'someone-else', '--force'], repo.root);
    expect(forced.code, forced.output).toBe(0);
    expect(parse(readFileSync(join(repo.root, FILE), 'utf8')).owner).toBe('someone-else');
  });

  it('writes nothing for an invalid device and names the field at its line', async () => {
    const run = await runCli(
      [
        'onboard',
        ...SSH_DEVICE,
        '--ssh-host-key',
        HOST_KEY,
        '--yes',
        '--certificate-authority',
        'lets_encrpyt',
      ],
      repo.root,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^${FILE}:\\d+:\\d+: error: certificate_authority: "lets_encrpyt" is not an authority`, 'm'),
    );
    expect(run.stderr).toContain('did you mean');
    expect(run.stderr).toContain('nothing was written');
    expect(existsSync(join(repo.root, FILE))).toBe(false);
  });

  it('refuses a system_name another data center already uses', async () => {
    const run = await runCli(
      [
        'onboard',
        ...SSH_DEVICE.map((a) => (a === 'web-sfo1-02' ? 'fw-ams2-01' : a)),
        '--ssh-host-key',
        HOST_KEY,
      ],
      repo.root,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /system_name: "fw-ams2-01" is also the system_name of inventory\/ams2\/fw-ams2-01\.yaml/,
    );
  });

  it('without a terminal a missing field is a usage error naming it, with how to read the host key', async () => {
    const run = await runCli(['onboard', ...SSH_DEVICE, '--yes'], repo.root);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('missing connection.ssh_host_key (--ssh-host-key)');
    expect(run.stderr).toContain('ssh-keyscan -p 2222 192.0.2.52 | ssh-keygen -lf -');
    expect(existsSync(join(repo.root, FILE))).toBe(false);

    const scripted = await runScripted(['--system-name', 'x1', '--host-platform', 'f5'], [], false);
    expect(scripted.code).toBe(2);
    expect(scripted.stderr).toMatch(/missing common_name \(--common-name\), os_version \(--os-version\)/);
    expect(scripted.stderr).toContain('not asking because the input is not a terminal');
  });

  it('explains the TLS pin for an appliance whose certificate is not trusted yet', async () => {
    const args = [
      'onboard',
      '--system-name',
      'lb-sfo1-02',
      '--common-name',
      'lb-sfo1-02.mgmt.example.com',
      '--host-platform',
      'f5',
      '--os-version',
      '17.1.1',
      '--data-center',
      'sfo1',
      '--certificate-authority',
      'lets_encrypt',
      '--credentials',
      'F5_SFO1_ADMIN',
      '--certificate-validation',
      'false',
      '--yes',
    ];
    const missing = await runCli(args, repo.root);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--tls-spki-sha256');
    expect(missing.stderr).toContain('openssl s_client -connect lb-sfo1-02.mgmt.example.com:443');
    const pinned = await runCli([...args, '--tls-spki-sha256', `${'Q'.repeat(43)}=`], repo.root);
    expect(pinned.code, pinned.output).toBe(0);
    expect(pinned.stdout).toContain('TLS: certificate_validation is false');
  });
});

describe('ottr onboard by questions', () => {
  it('asks for what is missing, offering the known values, and writes a valid file', async () => {
    const run = await runScripted(
      ['--system-name', 'app-ams2-03'],
      [
        'app3.ams2.example.com', // common_name
        '', // subject_alternative_names: skip
        'nope', // host_platform: not a choice, asked again
        'linux',
        '2023', // os_version
        'ec2', // device_model
        '1', // data_center: the first choice (ams2)
        '', // ip_address: skip
        'lets_encrypt',
        'app-team@example.com', // owner
        'i-0123456789abcdef0', // connection.instance_id (routing rule linux-aws → linux-ssm)
      ],
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/host_platform \(1\) panos, 2\) f5, 3\) lighthouse, 4\) linux\): /);
    expect(run.stderr).toContain('choose one of: panos, f5, lighthouse, linux');
    expect(run.stderr).toMatch(/data_center \(1\) ams2, 2\) sfo1\): /);
    expect(run.stdout).toContain(
      'wrote inventory/ams2/app-ams2-03.yaml (routing rule "linux-aws" → platform linux-ssm)',
    );
    const device = parse(readFileSync(join(repo.root, 'inventory/ams2/app-ams2-03.yaml'), 'utf8'));
    expect(device).toMatchObject({
      common_name: 'app3.ams2.example.com',
      host_platform: 'linux',
      os_version: '2023',
      device_model: 'ec2',
      data_center: 'ams2',
      owner: 'app-team@example.com',
      connection: { instance_id: 'i-0123456789abcdef0' },
    });
  });

  it('stops with a usage error when the answers run out, writing nothing', async () => {
    const run = await runScripted(['--system-name', 'half-done'], ['half.example.com']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('the input ended before');
    expect(existsSync(join(repo.root, 'inventory'))).toBe(true);
  });

  it('--yes never asks, even on a terminal', async () => {
    const run = await runScripted(['--system-name', 'x2', '--yes'], ['would-be-an-answer.example.com']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--yes never asks');
  });
});
