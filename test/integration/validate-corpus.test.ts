import { afterEach, describe, expect, it } from 'vitest';
import { makeRepo, runCli, type TempRepo } from '../helpers/cli.ts';

/** A valid PAN-OS device; the cases below break one thing each. Line numbers are 1-based. */
const BASE = [
  '# yaml-language-server: $schema=../../schemas/device.schema.json', // 1
  'system_name: dev-01', // 2
  'common_name: dev-01.mgmt.example.com', // 3
  'subject_alternative_names:', // 4
  '  - alt.mgmt.example.com', // 5
  'host_platform: panos', // 6
  'os_version: "10.2.4"', // 7
  'device_model: PA-3220', // 8
  'data_center: sfo1', // 9
  'ip_address: 192.0.2.1', // 10
  'certificate_authority: lets_encrypt', // 11
  'connection:', // 12
  '  port: 443', // 13
  '  credentials: PANOS_SFO1_API_KEY', // 14
  'certificate:', // 15
  '  not_before: "2026-09-01T00:00:00Z"', // 16
  '  not_after: "2026-11-30T00:00:00Z"', // 17
];
const DEVICE = 'inventory/sfo1/dev-01.yaml';

/** BASE with line `n` replaced (or removed with null, or several lines inserted with an array). */
function edit(changes: Record<number, string | string[] | null>): string {
  const out: string[] = [];
  BASE.forEach((line, i) => {
    const change = changes[i + 1];
    if (change === undefined) out.push(line);
    else if (change === null) return;
    else if (Array.isArray(change)) out.push(...change);
    else out.push(change);
  });
  return `${out.join('\n')}\n`;
}

interface Case {
  name: string;
  files: Record<string, string | Uint8Array>;
  /** The file and line the message must name. */
  file: string;
  line: number;
  message: RegExp;
  remove?: string[];
}

const linuxSsh = (connection: string[]) =>
  edit({
    6: 'host_platform: linux',
    7: 'os_version: "12"',
    8: null,
    12: 'connection:',
    13: connection,
    14: null,
  });

const CASES: Case[] = [
  {
    name: 'unknown field with a typo',
    files: { [DEVICE]: edit({ 3: 'comon_name: dev-01.mgmt.example.com' }) },
    file: DEVICE,
    line: 3,
    message: /unknown field "comon_name"; did you mean "common_name"/,
  },
  {
    name: 'missing required field',
    files: { [DEVICE]: edit({ 3: null }) },
    file: DEVICE,
    line: 2,
    message: /missing required field "common_name"/,
  },
  {
    name: 'unquoted os_version',
    files: { [DEVICE]: edit({ 7: 'os_version: 10.2' }) },
    file: DEVICE,
    line: 7,
    message:
      /os_version: must be a string; you wrote 10\.2 unquoted, which YAML reads as the number 10\.2: write "10\.2"/,
  },
  {
    name: 'system_name differs from file name',
    files: { [DEVICE]: edit({ 2: 'system_name: dev-02' }) },
    file: DEVICE,
    line: 2,
    message: /must equal the file's base name "dev-01"/,
  },
  {
    name: 'data_center differs from folder',
    files: { [DEVICE]: edit({ 9: 'data_center: ams2' }) },
    file: DEVICE,
    line: 9,
    message: /must equal the folder name "sfo1"/,
  },
  {
    name: 'system_name with capitals',
    files: { [DEVICE]: edit({ 2: 'system_name: Dev-01' }) },
    file: DEVICE,
    line: 2,
    message: /lowercase letters, digits/,
  },
  {
    name: 'common_name with underscore',
    files: { [DEVICE]: edit({ 3: 'common_name: dev_01.mgmt.example.com' }) },
    file: DEVICE,
    line: 3,
    message: /letters, digits and inner hyphens/,
  },
  {
    name: 'common_name with trailing dot',
    files: { [DEVICE]: edit({ 3: 'common_name: dev-01.mgmt.example.com.' }) },
    file: DEVICE,
    line: 3,
    message: /must not end with a dot/,
  },
  {
    name: 'common_name in capitals',
    files: { [DEVICE]: edit({ 3: 'common_name: DEV-01.mgmt.example.com' }) },
    file: DEVICE,
    line: 3,
    message: /must be lowercase/,
  },
  {
    name: 'label over 63 characters',
    files: { [DEVICE]: edit({ 3: `common_name: ${'a'.repeat(64)}.example.com` }) },
    file: DEVICE,
    line: 3,
    message: /at most 63/,
  },
  {
    name: 'name over 253 characters',
    files: { [DEVICE]: edit({ 3: `common_name: ${Array(5).fill('a'.repeat(60)).join('.')}.com` }) },
    file: DEVICE,
    line: 3,
    message: /at most 253|at most 253 characters/,
  },
  {
    name: 'wildcard not leftmost',
    files: { [DEVICE]: edit({ 5: '  - www.*.mgmt.example.com' }) },
    file: DEVICE,
    line: 5,
    message: /wildcard only as the whole leftmost label/,
  },
  {
    name: 'partial wildcard',
    files: { [DEVICE]: edit({ 5: '  - "w*.mgmt.example.com"' }) },
    file: DEVICE,
    line: 5,
    message: /partial wildcard/,
  },
  {
    name: 'duplicate SAN',
    files: { [DEVICE]: edit({ 5: ['  - alt.mgmt.example.com', '  - alt.mgmt.example.com'] }) },
    file: DEVICE,
    line: 6,
    message: /listed twice/,
  },
  {
    name: 'SAN repeats the common name',
    files: { [DEVICE]: edit({ 5: '  - dev-01.mgmt.example.com' }) },
    file: DEVICE,
    line: 5,
    message: /repeats common_name/,
  },
  {
    name: 'more than 100 names',
    files: { [DEVICE]: edit({ 5: Array.from({ length: 100 }, (_, i) => `  - n${i}.mgmt.example.com`) }) },
    file: DEVICE,
    line: 4,
    message: /at most 99 items|at most 100 names/,
  },
  {
    name: 'invalid IP address',
    files: { [DEVICE]: edit({ 10: 'ip_address: 10.0.0.256' }) },
    file: DEVICE,
    line: 10,
    message: /not a valid IPv4 or IPv6 address/,
  },
  {
    name: 'secret value instead of a secret name',
    files: { [DEVICE]: edit({ 14: '  credentials: LUFRPT1hbGxvd2VkLXNlY3JldC12YWx1ZQ==' }) },
    file: DEVICE,
    line: 14,
    message: /NAME of a secret/,
  },
  {
    name: 'unknown connection field',
    files: { [DEVICE]: edit({ 13: '  prot: 443' }) },
    file: DEVICE,
    line: 13,
    message: /unknown field "prot" in connection; did you mean "port"/,
  },
  {
    name: 'port out of range',
    files: { [DEVICE]: edit({ 13: '  port: 70000' }) },
    file: DEVICE,
    line: 13,
    message: /must be <= 65535/,
  },
  {
    name: 'unknown certificate authority',
    files: { [DEVICE]: edit({ 11: 'certificate_authority: lets_encrpyt' }) },
    file: DEVICE,
    line: 11,
    message: /not an authority in routing\/settings.yaml; did you mean "lets_encrypt"/,
  },
  {
    name: 'no routing rule matches',
    files: { [DEVICE]: edit({ 6: 'host_platform: cisco' }) },
    file: DEVICE,
    line: 6,
    message: /no routing rule matches/,
  },
  {
    name: 'authority key policy the platform cannot generate',
    files: { [DEVICE]: edit({ 6: 'host_platform: lighthouse', 7: 'os_version: "24.02.0"', 8: null }) },
    file: DEVICE,
    line: 10,
    message: /platform lighthouse .* generates RSA keys only, but authority "lets_encrypt" requires ECDSA/,
  },
  {
    name: 'connection field the driver does not use',
    files: { [DEVICE]: edit({ 13: '  instance_id: i-0123456789abcdef0' }) },
    file: DEVICE,
    line: 13,
    message: /is not used by platform panos/,
  },
  {
    name: 'SSH device without host key',
    files: { [DEVICE]: linuxSsh(['  credentials: LINUX_SSH_KEY']) },
    file: DEVICE,
    line: 11,
    message: /needs connection.ssh_host_key/,
  },
  {
    name: 'malformed SSH host key',
    files: { [DEVICE]: linuxSsh(['  credentials: LINUX_SSH_KEY', '  ssh_host_key: "MD5:aa:bb"']) },
    file: DEVICE,
    line: 13,
    message: /SHA256:<43 base64 characters>/,
  },
  {
    name: 'SSM device without instance',
    files: {
      [DEVICE]: edit({
        6: 'host_platform: linux',
        7: 'os_version: "2023"',
        8: 'device_model: ec2',
        13: '  region: eu-west-1',
        14: null,
      }),
    },
    file: DEVICE,
    line: 12,
    message: /needs exactly one of connection.instance_id or connection.instance_tag/,
  },
  {
    name: 'untrusted certificate without a pin',
    files: {
      [DEVICE]: edit({ 11: ['certificate_authority: lets_encrypt', 'certificate_validation: false'] }),
    },
    file: DEVICE,
    line: 12,
    message: /must be pinned with connection.tls_spki_sha256/,
  },
  {
    name: 'not_after not a date-time',
    files: { [DEVICE]: edit({ 17: '  not_after: "30/11/2026"' }) },
    file: DEVICE,
    line: 17,
    message: /RFC 3339 date-time/,
  },
  {
    name: 'not_before after not_after',
    files: { [DEVICE]: edit({ 16: '  not_before: "2027-01-01T00:00:00Z"' }) },
    file: DEVICE,
    line: 16,
    message: /earlier than not_after/,
  },
  {
    name: 'certificate without not_after',
    files: { [DEVICE]: edit({ 17: null }) },
    file: DEVICE,
    line: 15,
    message: /missing required field "not_after"/,
  },
  {
    name: 'duplicate key',
    files: { [DEVICE]: edit({ 10: ['ip_address: 10.0.0.1', 'ip_address: 10.0.0.2'] }) },
    file: DEVICE,
    line: 11,
    message: /ip_address: duplicate key "ip_address" \(first on line 10\)/,
  },
  {
    name: 'YAML syntax error',
    files: { [DEVICE]: edit({ 5: '  - [alt.mgmt.example.com' }) },
    file: DEVICE,
    line: 6,
    message: /YAML syntax/,
  },
  {
    name: 'a list instead of a mapping',
    files: { [DEVICE]: '- system_name: dev-01\n' },
    file: DEVICE,
    line: 1,
    message: /expected a mapping of fields/,
  },
  { name: 'empty file', files: { [DEVICE]: '' }, file: DEVICE, line: 1, message: /found an empty document/ },
  {
    name: 'alias bomb',
    files: {
      [DEVICE]: `${['a: &a [x,x,x,x,x,x,x,x,x,x]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefg'[i]}`).join(',')}]`)].join('\n')}\n`,
    },
    file: DEVICE,
    line: 1,
    message: /alias bomb/,
  },
  {
    name: 'not UTF-8',
    files: {
      [DEVICE]: Buffer.concat([
        Buffer.from(edit({}).replace('owner', '')),
        Buffer.from([0x6f, 0x77, 0x6e, 0x65, 0x72, 0x3a, 0x20, 0xe9, 0x0a]),
      ]),
    },
    file: DEVICE,
    line: 18,
    message: /not valid UTF-8/,
  },
  {
    name: 'file over the size cap',
    files: { [DEVICE]: `${edit({})}# ${'x'.repeat(70_000)}\n` },
    file: DEVICE,
    line: 1,
    message: /the limit is 65536 bytes/,
  },
  {
    name: 'several documents',
    files: { [DEVICE]: `${edit({})}---\nsystem_name: dev-01\n` },
    file: DEVICE,
    line: 18,
    message: /several YAML documents/,
  },
  {
    name: 'unknown YAML tag',
    files: { [DEVICE]: edit({ 8: 'device_model: !!binary UEEtMzIyMA==' }) },
    file: DEVICE,
    line: 8,
    message: /unsupported YAML tag !!binary/,
  },
  {
    name: 'system_name used in two data centers',
    files: { [DEVICE]: edit({}), 'inventory/ams2/dev-01.yaml': edit({ 9: 'data_center: ams2' }) },
    file: 'inventory/sfo1/dev-01.yaml',
    line: 2,
    message: /also the system_name of inventory\/ams2\/dev-01.yaml/,
  },
  {
    name: 'non-YAML file in inventory',
    files: { 'inventory/sfo1/notes.txt': 'hello\n' },
    file: 'inventory/sfo1/notes.txt',
    line: 1,
    message: /must end in .yaml/,
  },
  {
    name: 'device file outside a data center folder',
    files: { 'inventory/dev-01.yaml': edit({}) },
    file: 'inventory/dev-01.yaml',
    line: 1,
    message: /belong in a data center folder/,
  },
  {
    name: 'nested folder',
    files: { 'inventory/sfo1/rack1/dev-01.yaml': edit({}) },
    file: 'inventory/sfo1/rack1',
    line: 1,
    message: /nest one level only/,
  },
  {
    name: 'label value not a string',
    files: { [DEVICE]: edit({ 10: ['ip_address: 10.0.0.1', 'labels:', '  rack: 14'] }) },
    file: DEVICE,
    line: 12,
    message:
      /labels\.rack: must be a string; you wrote 14 unquoted, which YAML reads as the number 14: write "14"/,
  },
  {
    name: 'renewal window ends before it starts',
    files: {
      [DEVICE]: edit({
        17: [
          '  not_after: "2026-11-30T00:00:00Z"',
          '  renewal_window:',
          '    start: "2026-11-25T00:00:00Z"',
          '    end: "2026-11-20T00:00:00Z"',
        ],
      }),
    },
    file: DEVICE,
    line: 19,
    message: /must be earlier than end/,
  },
  {
    name: 'device_model given as a list',
    files: { [DEVICE]: edit({ 8: 'device_model: [PA-3220]' }) },
    file: DEVICE,
    line: 8,
    message: /must be a string, found a list/,
  },
  {
    name: 'empty host_platform',
    files: { [DEVICE]: edit({ 6: 'host_platform: ""' }) },
    file: DEVICE,
    line: 6,
    message: /lowercase letters, digits/,
  },
  {
    name: 'settings: unknown authority field',
    files: { 'routing/settings.yaml': 'SETTINGS:    renew_before: "1/3"=>    renew_befor: "1/3"' },
    file: 'routing/settings.yaml',
    line: 16,
    message: /unknown field "renew_befor" in lets_encrypt; did you mean "renew_before"/,
  },
  {
    name: 'settings: renew_before not a fraction',
    files: { 'routing/settings.yaml': 'SETTINGS:    renew_before: "1/3"=>    renew_before: "3/2"' },
    file: 'routing/settings.yaml',
    line: 16,
    message: /fraction of the lifetime between 0 and 1/,
  },
  {
    name: 'settings: ECDSA key with a size',
    files: {
      'routing/settings.yaml':
        'SETTINGS:key: { type: ecdsa, curve: P-256 }=>key: { type: ecdsa, size: 2048 }',
    },
    file: 'routing/settings.yaml',
    line: 15,
    message: /applies to rsa keys only/,
  },
  {
    name: 'settings: file missing',
    files: {},
    remove: ['routing/settings.yaml'],
    file: 'routing/settings.yaml',
    line: 1,
    message: /routing\/settings.yaml is missing/,
  },
  {
    name: 'routes: invalid os_version pattern',
    files: { 'routing/routes.yaml': 'ROUTES:os_version: "10.x" }=>os_version: "1x.2" }' },
    file: 'routing/routes.yaml',
    line: 7,
    message: /os_version|pattern/,
  },
  {
    name: 'routes: duplicate rule name',
    files: { 'routing/routes.yaml': 'ROUTES:- name: panos-11=>- name: panos-10' },
    file: 'routing/routes.yaml',
    line: 11,
    message: /already the name of rule #1/,
  },
  {
    name: 'routes: unknown platform',
    files: { 'routing/routes.yaml': 'ROUTES:\n    platform: lighthouse=>\n    platform: lighthose' },
    file: 'routing/routes.yaml',
    line: 23,
    message: /must be one of: .*did you mean "lighthouse"/,
  },
  {
    name: 'routes: unknown driver option',
    files: { 'routing/routes.yaml': 'ROUTES:{ ssl_tls_profile: ottr-mgmt }=>{ ssl_profile: ottr-mgmt }' },
    file: 'routing/routes.yaml',
    line: 9,
    message: /unknown field "ssl_profile" in options; did you mean "ssl_tls_profile"/,
  },
];

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** 'SETTINGS:from=>to' rewrites the sample settings (ROUTES: the sample routes) with one replacement. */
function materialise(r: TempRepo, path: string, content: string | Uint8Array) {
  if (typeof content === 'string' && /^(SETTINGS|ROUTES):/.test(content)) {
    const [, spec] = content.split(/^(?:SETTINGS|ROUTES):/);
    const [from, to] = spec!.split('=>') as [string, string];
    const original = readFileSync(join(r.root, path), 'utf8');
    if (!original.includes(from)) throw new Error(`test fixture: "${from}" not in ${path}`);
    r.write(path, original.replace(from, to));
  } else {
    r.write(path, content);
  }
}

describe('ottr validate: bad inputs', () => {
  it('has at least 40 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(CASES)('$name', async (c) => {
    repo = makeRepo();
    for (const [path, content] of Object.entries(c.files)) materialise(repo, path, content);
    for (const path of c.remove ?? []) repo.remove(path);
    const text = await runCli(['validate', '--root', repo.root]);
    expect(text.code, text.output).toBe(1);
    const lines = text.stdout.split('\n').filter((l) => l.startsWith(`${c.file}:${c.line}:`));
    expect(
      lines.some((l) => c.message.test(l)),
      `expected ${c.file}:${c.line}: ${c.message}\n${text.output}`,
    ).toBe(true);
    expect(text.output).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace

    const github = await runCli(['validate', '--root', repo.root, '--format', 'github']);
    expect(github.code).toBe(1);
    const escapedFile = c.file.replace(/:/g, '%3A').replace(/,/g, '%2C');
    expect(github.stdout).toMatch(
      new RegExp(
        `^::(error|warning) file=${escapedFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')},line=${c.line},col=\\d+`,
        'm',
      ),
    );
  });

  it('never repeats a secret value found in a secret-name field', async () => {
    repo = makeRepo();
    const secret = 'LUFRPT1hbGxvd2VkLXNlY3JldC12YWx1ZQ==';
    repo.write(DEVICE, edit({ 14: `  credentials: ${secret}` }));
    for (const format of ['text', 'json', 'github']) {
      const run = await runCli(['validate', '--root', repo.root, '--format', format]);
      expect(run.code).toBe(1);
      expect(run.output).not.toContain(secret);
    }
  });
});

describe('ottr validate: usage and success', () => {
  it('accepts the sample repository', async () => {
    const run = await runCli(['validate']);
    expect(run.output).toMatch(/^valid: 10 device files checked/m);
    expect(run.code).toBe(0);
  });

  it('reports a shadowed routing rule as a warning without failing', async () => {
    repo = makeRepo({ withSampleInventory: true });
    materialise(
      repo,
      'routing/routes.yaml',
      'ROUTES:  - name: lighthouse\n    match: { host_platform: lighthouse }=>  - name: lighthouse\n    match: { host_platform: lighthouse }\n    platform: lighthouse\n\n  - name: lighthouse-again\n    match: { host_platform: lighthouse, os_version: "23.x" }',
    );
    const run = await runCli(['validate', '--root', repo.root]);
    expect(run.stdout).toMatch(/routing\/routes.yaml:\d+:\d+: warning: .*never matches: rule "lighthouse"/);
    expect(run.code).toBe(0);
  });

  it.each([
    [['validate', '--bogus'], /Unknown option '--bogus'/],
    [['validate', '--format', 'xml'], /--format must be one of text, json, github/],
    [['validate', '--root', '/nonexistent/ottr'], /is not a directory/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('exits 2 on %j', async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('warns about a device file without the schema line, and still accepts it', async () => {
    repo = makeRepo();
    repo.write(DEVICE, edit({ 1: '# a firewall' }));
    const run = await runCli(['validate', '--root', repo.root]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /inventory\/sfo1\/dev-01.yaml:1:1: warning: the first line should be "# yaml-language-server/,
    );
  });

  it('reports which rule routes each device', async () => {
    const run = await runCli(['validate', '--format', 'json']);
    const report = JSON.parse(run.stdout);
    expect(report.routed).toContainEqual({
      system_name: 'app-ams2-01',
      file: 'inventory/ams2/app-ams2-01.yaml',
      route: 'linux-aws',
      platform: 'linux-ssm',
    });
    expect(report.routed).toHaveLength(10);
    const text = await runCli(['validate', '--verbose']);
    expect(text.stdout).toContain('inventory/sfo1/web-sfo1-01.yaml: rule "linux" → platform linux-ssh');
  });

  it('prints JSON with the problem positions', async () => {
    repo = makeRepo();
    repo.write(DEVICE, edit({ 7: 'os_version: 10.2' }));
    const run = await runCli(['validate', '--root', repo.root, '--format', 'json']);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ valid: false, devices: 1, errors: 1 });
    expect(report.problems[0]).toMatchObject({ file: DEVICE, line: 7, column: 13, field: 'os_version' });
  });
});
