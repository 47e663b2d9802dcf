import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../../src/model/types.ts';
import { loadRepository } from '../../src/repository/load.ts';
import { rotateRecord, secretReaders } from '../../src/rotate/run.ts';
import { secretMap } from '../../src/secrets/source.ts';
import { makeRepo, runCli, type TempRepo } from '../helpers/cli.ts';

/**
 * The trust boundary played by an attacker who can get one inventory file merged (or a colleague's typo): the file
 * must not choose which secret goes where, which names are issued, or where rotation runs. Every refusal names the
 * file, line and field, and no canary value ever reaches the attacker's listener or any output.
 */

/** Every secret of the sample with a canary value, plus runner variables a hostile file might name. */
const CANARIES: Record<string, string> = Object.fromEntries(
  [
    'LE_ACCOUNT_KEY',
    'CORP_CA_ACCOUNT_KEY',
    'CORP_CA_EAB_KID',
    'CORP_CA_EAB_HMAC',
    'PANOS_SFO1_API_KEY',
    'PANOS_AMS2_API_KEY',
    'F5_SFO1_ADMIN',
    'F5_AMS2_ADMIN',
    'LIGHTHOUSE_SFO1_ADMIN',
    'LIGHTHOUSE_AMS2_ADMIN',
    'LINUX_SSH_KEY',
    'SLACK_WEBHOOK_URL',
    'OTTR_APP_PRIVATE_KEY',
    'AWS_SECRET_ACCESS_KEY',
    'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  ].map((name) => [name, `canary-${name.toLowerCase().replace(/_/g, '-')}-1f2e`]),
);
const canaryPattern = /canary-[a-z0-9-]+-1f2e/;

/** A raw TCP listener on loopback standing in for the attacker's host: it records every connection and byte. */
let attacker: Server;
let attackerPort = 0;
let received: { connections: number; bytes: Buffer[] } = { connections: 0, bytes: [] };
const PIN = `${'A'.repeat(43)}=`; // the attacker's own key, as far as the device file is concerned

beforeAll(async () => {
  attacker = createServer((socket) => {
    received.connections++;
    socket.on('data', (chunk: Buffer) => received.bytes.push(chunk));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerPort = (attacker.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => attacker.close(() => resolve())));

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
  received = { connections: 0, bytes: [] };
});

/** A PAN-OS device of sfo1 aimed at the attacker's listener; `connection` lines replace the defaults. */
function hostileFirewall(
  options: { credentials?: string; dataCenter?: string; names?: string[] } = {},
): string {
  const [cn, ...sans] = options.names ?? ['fw-sfo1-66.mgmt.example.com'];
  const dc = options.dataCenter ?? 'sfo1';
  return [
    '# yaml-language-server: $schema=../../schemas/device.schema.json', // 1
    'system_name: fw-sfo1-66', // 2
    `common_name: ${cn}`, // 3
    ...(sans.length > 0 ? ['subject_alternative_names:', ...sans.map((s) => `  - "${s}"`)] : []),
    'host_platform: panos',
    'os_version: "10.2.4"',
    `data_center: ${dc}`,
    'ip_address: 127.0.0.1',
    'certificate_authority: lets_encrypt',
    'certificate_validation: false',
    'connection:',
    `  port: ${attackerPort}`,
    `  credentials: ${options.credentials ?? 'PANOS_SFO1_API_KEY'}`,
    `  tls_spki_sha256: "${PIN}"`,
    '',
  ].join('\n');
}

/** Loopback, where the attacker listens, becomes part of sfo1's declared network. */
function allowLoopback(r: TempRepo): void {
  const settings = readFileSync(join(r.root, 'routing/settings.yaml'), 'utf8');
  r.write(
    'routing/settings.yaml',
    settings.replace('sfo1: [192.0.2.0/24]', 'sfo1: [192.0.2.0/24, 127.0.0.0/8]'),
  );
}

/** The line of a file on which `text` first appears (1-based). */
function lineOf(content: string, text: string): number {
  return content.split('\n').findIndex((l) => l.includes(text)) + 1;
}

interface Attack {
  name: string;
  file: string;
  content: () => string;
  /** The text whose line the refusal must point at. */
  at: string;
  field: string;
  message: RegExp;
  /** Each case isolates one defence: loopback (the attacker) counts as sfo1's network unless the case says not. */
  loopbackIsSfo1?: false;
}

const FILE = 'inventory/sfo1/fw-sfo1-66.yaml';
const ATTACKS: Attack[] = [
  {
    name: 'a runner variable as the credential',
    file: FILE,
    content: () => hostileFirewall({ credentials: 'AWS_SECRET_ACCESS_KEY' }),
    at: 'credentials:',
    field: 'connection.credentials',
    message: /the secret AWS_SECRET_ACCESS_KEY is not declared in routing\/settings.yaml secrets/,
  },
  {
    name: "the runner's OIDC request token as the credential",
    file: FILE,
    content: () => hostileFirewall({ credentials: 'ACTIONS_ID_TOKEN_REQUEST_TOKEN' }),
    at: 'credentials:',
    field: 'connection.credentials',
    message: /ACTIONS_ID_TOKEN_REQUEST_TOKEN is not declared/,
  },
  {
    name: "another data center's device credential",
    file: FILE,
    content: () => hostileFirewall({ credentials: 'PANOS_AMS2_API_KEY' }),
    at: 'credentials:',
    field: 'connection.credentials',
    message: /PANOS_AMS2_API_KEY is bound to data center ams2, not sfo1/,
  },
  {
    name: "another platform's credential of the same data center",
    file: FILE,
    content: () => hostileFirewall({ credentials: 'F5_SFO1_ADMIN' }),
    at: 'credentials:',
    field: 'connection.credentials',
    message: /F5_SFO1_ADMIN is bound to platform f5, not panos/,
  },
  {
    name: 'the ACME account key as the credential',
    file: FILE,
    content: () => hostileFirewall({ credentials: 'LE_ACCOUNT_KEY' }),
    at: 'credentials:',
    field: 'connection.credentials',
    message: /LE_ACCOUNT_KEY is declared as an ACME account key .*not a device credential/,
  },
  {
    name: 'the Slack webhook as the credential',
    file: FILE,
    content: () => hostileFirewall({ credentials: 'SLACK_WEBHOOK_URL' }),
    at: 'credentials:',
    field: 'connection.credentials',
    message: /SLACK_WEBHOOK_URL is declared as a notification secret/,
  },
  {
    name: 'the GitHub App key as the credential',
    file: FILE,
    content: () => hostileFirewall({ credentials: 'OTTR_APP_PRIVATE_KEY' }),
    at: 'credentials:',
    field: 'connection.credentials',
    message: /OTTR_APP_PRIVATE_KEY is declared as the GitHub App key/,
  },
  {
    name: "a claim on another device's common name",
    file: FILE,
    content: () => hostileFirewall({ names: ['fw-sfo1-01.mgmt.example.com'] }),
    at: 'common_name:',
    field: 'common_name',
    message:
      /"fw-sfo1-01.mgmt.example.com" is also a name of fw-sfo1-01 \(inventory\/sfo1\/fw-sfo1-01.yaml\)/,
  },
  {
    name: "a claim on another device's SAN",
    file: FILE,
    content: () => hostileFirewall({ names: ['fw-sfo1-66.mgmt.example.com', 'vpn-sfo1.example.com'] }),
    at: '- "vpn-sfo1.example.com"',
    field: 'subject_alternative_names[0]',
    message: /"vpn-sfo1.example.com" is also a name of fw-sfo1-01/,
  },
  {
    name: 'a name outside the suffixes of the data center',
    file: FILE,
    content: () => hostileFirewall({ names: ['fw-sfo1-66.mgmt.example.com', 'login.bank.example.org'] }),
    at: '- "login.bank.example.org"',
    field: 'subject_alternative_names[0]',
    message: /"login.bank.example.org" is outside the names data center sfo1 may request/,
  },
  {
    name: 'a wildcard where the data center allows none',
    file: FILE,
    content: () => hostileFirewall({ names: ['fw-sfo1-66.mgmt.example.com', '*.mgmt.example.com'] }),
    at: '- "*.mgmt.example.com"',
    field: 'subject_alternative_names[0]',
    message: /is a wildcard, and names.sfo1.wildcards does not allow wildcards in sfo1/,
  },
  {
    name: "the data center's own credential, aimed at a host outside its networks with the attacker's pin",
    file: FILE,
    content: () => hostileFirewall({ credentials: 'PANOS_SFO1_API_KEY' }),
    at: 'ip_address:',
    field: 'ip_address',
    message: /127.0.0.1 is outside the networks of data center sfo1 \(networks.sfo1: 192.0.2.0\/24\)/,
    loopbackIsSfo1: false,
  },
  {
    name: 'a new data center folder nobody declared (no runners, no names, no code owner)',
    file: 'inventory/lab9/fw-sfo1-66.yaml',
    content: () => hostileFirewall({ dataCenter: 'lab9' }),
    at: 'data_center:',
    field: 'data_center',
    message: /"lab9" has no runners: add runners.by_data_center.lab9/,
  },
];

describe('a hostile inventory file is refused at the exact line, and gets nothing', () => {
  it.each(ATTACKS)('$name', async (attack) => {
    repo = makeRepo({ withSampleInventory: true });
    if (attack.loopbackIsSfo1 !== false) allowLoopback(repo);
    const content = attack.content();
    repo.write(attack.file, content);
    const validate = await runCli(['validate', '--root', repo.root, '--format', 'json']);
    expect(validate.code).toBe(1);
    const problems = (
      JSON.parse(validate.stdout) as {
        problems: { file: string; line: number; field: string; message: string; severity: string }[];
      }
    ).problems.filter((p) => p.file === attack.file && p.severity === 'error');
    const hit = problems.find((p) => p.field === attack.field && attack.message.test(p.message));
    expect(hit, JSON.stringify(problems, null, 2)).toBeDefined();
    expect(hit!.line).toBe(lineOf(content, attack.at));

    // Rotation refuses it too, before a single packet: the dry run (precheck would send the credential).
    const results = join(repo.root, 'results');
    repo.write('secrets.json', JSON.stringify(CANARIES));
    const rotate = await runCli(
      [
        'rotate',
        '--device',
        'fw-sfo1-66',
        '--dry-run',
        '--root',
        repo.root,
        '--results',
        results,
        '--secrets-file',
        'secrets.json',
      ],
      repo.root,
      { ...CANARIES, GITHUB_ACTIONS: 'true' },
    );
    expect(rotate.code).toBe(1);
    expect(received.connections).toBe(0);
    expect(Buffer.concat(received.bytes).toString('latin1')).not.toMatch(canaryPattern);
    expect(rotate.output).not.toMatch(canaryPattern);
    for (const f of readdirSync(results))
      expect(readFileSync(join(results, f), 'utf8')).not.toMatch(canaryPattern);
    expect(JSON.parse(readFileSync(join(results, 'fw-sfo1-66.json'), 'utf8'))).toMatchObject({
      status: 'failed',
      error: { phase: 'precheck', class: 'invalid' },
    });
    // The device whose name was claimed is refused as well until a human resolves the conflict: neither file
    // gets a certificate for a contested name.
    if (/is also a name of/.test(hit!.message)) {
      const victim = problems.length > 0 ? await runCli(['validate', '--root', repo.root]) : validate;
      expect(victim.stdout).toMatch(
        /inventory\/sfo1\/fw-sfo1-01.yaml:\d+:\d+: error: .*is also a name of fw-sfo1-66/,
      );
    }
  });

  it('two devices may hold one name only when both files say so (an HA pair)', async () => {
    repo = makeRepo({ withSampleInventory: true });
    allowLoopback(repo);
    const pair = hostileFirewall({ names: ['fw-sfo1-66.mgmt.example.com', 'vpn-sfo1.example.com'] }).replace(
      'connection:',
      'shares_names_with: [fw-sfo1-01]\nconnection:',
    );
    repo.write(FILE, pair);
    const oneSided = await runCli(['validate', '--root', repo.root]);
    expect(oneSided.code).toBe(1);
    expect(oneSided.stdout).toMatch(
      new RegExp(
        `${FILE}:${lineOf(pair, 'shares_names_with')}:\\d+: error: shares_names_with\\[0\\]: "fw-sfo1-01" does not list fw-sfo1-66`,
      ),
    );
    const original = readFileSync(join(repo.root, 'inventory/sfo1/fw-sfo1-01.yaml'), 'utf8');
    repo.write(
      'inventory/sfo1/fw-sfo1-01.yaml',
      original.replace('owner:', 'shares_names_with: [fw-sfo1-66]\nowner:'),
    );
    const both = await runCli(['validate', '--root', repo.root]);
    expect(both.stdout).not.toMatch(/vpn-sfo1.example.com" is also a name/);
    expect(both.stdout).not.toMatch(/shares_names_with/);
  });
});

describe('rotation refuses an ungranted secret even when validation is bypassed (defence in depth)', () => {
  it('never reads the secret and never connects', async () => {
    repo = makeRepo({ withSampleInventory: true });
    const loaded = await loadRepository(repo.root);
    const record = loaded.records.find((r) => r.system_name === 'fw-sfo1-02')!;
    // As if the checks had a hole: the valid record's device now names a foreign credential and the attacker.
    const hostile: Device = {
      ...record.device!,
      ip_address: '127.0.0.1',
      certificate_validation: false,
      connection: { port: attackerPort, credentials: 'PANOS_AMS2_API_KEY', tls_spki_sha256: PIN },
    };
    const read: string[] = [];
    const secrets = secretMap(CANARIES, 'the test');
    const result = await rotateRecord(
      loaded,
      { ...record, device: hostile },
      {
        env: CANARIES,
        secrets: {
          ...secrets,
          get: (name) => {
            read.push(name);
            return secrets.get(name);
          },
        },
        dryRun: true,
        log: () => {},
      },
    );
    expect(result).toMatchObject({ status: 'failed', error: { phase: 'precheck', class: 'secret_refused' } });
    expect(result.error!.message).toMatch(
      /connection.credentials: the secret PANOS_AMS2_API_KEY is bound to data center ams2, not sfo1/,
    );
    expect(read).toEqual([]);
    expect(received.connections).toBe(0);
    expect(JSON.stringify(result)).not.toMatch(canaryPattern);
  });

  it('a driver that asks for a secret its device does not name gets nothing', () => {
    const device = { connection: { credentials: 'PANOS_SFO1_API_KEY' } } as Device;
    const asked: string[] = [];
    const masked: string[] = [];
    const source = secretMap(CANARIES, 'the test');
    const { secret } = secretReaders(
      device,
      {
        ...source,
        get: (name) => {
          asked.push(name);
          return source.get(name);
        },
      },
      (v) => masked.push(v),
    );
    for (const name of ['LE_ACCOUNT_KEY', 'PANOS_AMS2_API_KEY', 'AWS_SECRET_ACCESS_KEY'])
      expect(() => secret(name)).toThrow(
        `the driver asked for the secret ${name}, which this device's connection does not name`,
      );
    expect(asked).toEqual([]);
    expect(secret('PANOS_SFO1_API_KEY')).toBe(CANARIES.PANOS_SFO1_API_KEY);
    expect(masked).toEqual([CANARIES.PANOS_SFO1_API_KEY]);
  });
});

describe('settings that would hand a secret to the wrong job are refused', () => {
  it.each([
    {
      name: 'an account key nobody declared',
      from: '  LE_ACCOUNT_KEY: { purpose: acme_account }\n',
      to: '',
      message: /authorities.lets_encrypt.account_key_secret: the secret LE_ACCOUNT_KEY is not declared/,
    },
    {
      name: 'a device credential bound to no data center',
      from: 'PANOS_SFO1_API_KEY: { purpose: device_credential, data_centers: [sfo1], platforms: [panos] }',
      to: 'PANOS_SFO1_API_KEY: { purpose: device_credential }',
      message: /secrets.PANOS_SFO1_API_KEY: a device credential must be bound to its data centers/,
    },
    {
      name: 'a notification secret bound to a data center (it would reach a rotate job)',
      from: 'SLACK_WEBHOOK_URL: { purpose: notification }',
      to: 'SLACK_WEBHOOK_URL: { purpose: notification, data_centers: [sfo1] }',
      message: /secrets.SLACK_WEBHOOK_URL.data_centers: a notification secret goes to the report job only/,
    },
    {
      name: 'the Slack webhook declared as a device credential',
      from: 'SLACK_WEBHOOK_URL: { purpose: notification }',
      to: 'SLACK_WEBHOOK_URL: { purpose: device_credential, data_centers: [sfo1] }',
      message:
        /notifications.slack_webhook_secret: the secret SLACK_WEBHOOK_URL is declared as a device credential/,
    },
  ])('$name', async (c) => {
    repo = makeRepo({ withSampleInventory: true });
    const settings = readFileSync(join(repo.root, 'routing/settings.yaml'), 'utf8');
    expect(settings).toContain(c.from);
    repo.write('routing/settings.yaml', settings.replace(c.from, c.to));
    const run = await runCli(['validate', '--root', repo.root]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`routing/settings.yaml:\\d+:\\d+: error: ${c.message.source}`));
  });
});
