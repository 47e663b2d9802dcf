import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flowList, nameDuplicateKeys, suggestField } from '../../src/repository/hints.ts';
import { schemaFindings } from '../../src/repository/schema.ts';
import { makeRepo, runCli, type TempRepo } from '../helpers/cli.ts';

/** A valid PAN-OS device in sfo1; each case replaces some of its lines. */
const BASE: Record<string, string> = {
  header: '# yaml-language-server: $schema=../../schemas/device.schema.json',
  system_name: 'system_name: dev-01',
  common_name: 'common_name: dev-01.mgmt.example.com',
  host_platform: 'host_platform: panos',
  os_version: 'os_version: "10.2.4"',
  data_center: 'data_center: sfo1',
  certificate_authority: 'certificate_authority: lets_encrypt',
  connection: 'connection:\n  credentials: PANOS_SFO1_API_KEY',
};
const FILE = 'inventory/sfo1/dev-01.yaml';

/** The device with some lines replaced (a key → its new lines; null removes it) and others appended. */
function device(changes: Record<string, string | null>): string {
  const lines: string[] = [];
  for (const [key, line] of Object.entries(BASE)) {
    const change = Object.hasOwn(changes, key) ? changes[key] : line;
    if (change !== null && change !== undefined) lines.push(change);
  }
  for (const [key, line] of Object.entries(changes)) if (!Object.hasOwn(BASE, key) && line) lines.push(line);
  return `${lines.join('\n')}\n`;
}

let repo: TempRepo;
beforeEach(() => {
  repo = makeRepo();
});
afterEach(() => repo.cleanup());

async function validate(text: string, format = 'text') {
  repo.write(FILE, text);
  return runCli(['validate', '--root', repo.root, '--format', format]);
}

/** The problem lines of a text run, without the summary. */
const problemLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith(`${FILE}:`));

describe('messages quote what the user wrote', () => {
  it('an unquoted os_version: 10.10 suggests "10.10", not the number 10.1 YAML made of it', async () => {
    const run = await validate(device({ os_version: 'os_version: 10.10' }));
    expect(run.code).toBe(1);
    expect(problemLines(run.stdout)).toEqual([
      `${FILE}:5:13: error: os_version: must be a string; you wrote 10.10 unquoted, which YAML reads as the number 10.1: write "10.10"`,
    ]);
    expect(run.stdout).not.toContain('"10.1"');
  });

  it.each([
    ['1e3', 'the number 1000'],
    ['0x1F', 'the number 31'],
    ['0o17', 'the number 15'],
    ['-12', 'the number -12'],
    ['.inf', 'the number Infinity'],
    ['True', 'the boolean true'],
    ['FALSE', 'the boolean false'],
    ['~', 'null'],
    ['null', 'null'],
  ])('any string field written as %s (read as %s) is quoted back as written', async (written, read) => {
    const run = await validate(device({ owner: `owner: ${written} # who to ask` }));
    expect(problemLines(run.stdout)).toEqual([
      `${FILE}:10:8: error: owner: must be a string; you wrote ${written} unquoted, which YAML reads as ${read}: write "${written}"`,
    ]);
  });

  it('quotes a value inside a flow mapping and a nested field', async () => {
    const run = await validate(device({ labels: 'labels: { rack: 0x1F, row: "7" }' }));
    expect(problemLines(run.stdout)).toEqual([
      `${FILE}:10:17: error: labels.rack: must be a string; you wrote 0x1F unquoted, which YAML reads as the number 31: write "0x1F"`,
    ]);
  });

  it('an empty value is named as empty', async () => {
    const run = await validate(device({ owner: 'owner:' }));
    expect(problemLines(run.stdout)).toEqual([
      `${FILE}:10:7: error: owner: must be a string; the value is empty, which YAML reads as null: write one or remove the field`,
    ]);
  });

  it('never repeats a value in a field that may hold a secret', async () => {
    const run = await validate(device({ connection: 'connection:\n  credentials: 0x5EC2E7' }));
    expect(problemLines(run.stdout)).toEqual([
      `${FILE}:9:16: error: connection.credentials: must be a string; YAML reads the unquoted value as a number: write it in quotes`,
    ]);
    expect(run.output).not.toMatch(/5EC2E7|6210279/i);
  });

  it('no, yes, on and off where a boolean belongs are strings in YAML 1.2: suggests true or false', async () => {
    const run = await validate(device({ certificate_validation: 'certificate_validation: no' }));
    expect(problemLines(run.stdout)).toEqual([
      `${FILE}:10:25: error: certificate_validation: must be a boolean; you wrote no, which YAML 1.2 reads as the string "no": write false`,
    ]);
    const on = await validate(device({ certificate_validation: 'certificate_validation: "on"' }));
    expect(problemLines(on.stdout)[0]).toContain(
      'you wrote on, which YAML 1.2 reads as the string "on": write true',
    );
    const quoted = await validate(device({ certificate_validation: 'certificate_validation: "false"' }));
    expect(problemLines(quoted.stdout)[0]).toContain(
      'you wrote "false" in quotes, which is a string: write false',
    );
  });

  it('a SAN list written as a string suggests the list form', async () => {
    const one = await validate(device({ sans: 'subject_alternative_names: vpn.sfo1.example.com' }));
    expect(problemLines(one.stdout)).toEqual([
      `${FILE}:10:28: error: subject_alternative_names: must be a list; you wrote vpn.sfo1.example.com as one string: write [vpn.sfo1.example.com]`,
    ]);
    const two = await validate(
      device({ sans: 'subject_alternative_names: vpn.sfo1.example.com, www.example.com api.example.com' }),
    );
    expect(problemLines(two.stdout)[0]).toMatch(
      /: write \[vpn\.sfo1\.example\.com, www\.example\.com, api\.example\.com\]$/,
    );
  });

  it('a duplicate key names the key, where it first is, and keeps its position', async () => {
    const run = await validate(device({ owner: 'owner: a@example.com', again: 'owner: b@example.com' }));
    expect(problemLines(run.stdout)).toEqual([
      `${FILE}:11:1: error: owner: duplicate key "owner" (first on line 10): a mapping holds each key once; keep one of them`,
    ]);
    const nested = await validate(
      device({ connection: 'connection: { credentials: PANOS_SFO1_API_KEY, port: 443, port: 8443 }' }),
    );
    expect(problemLines(nested.stdout)).toEqual([
      `${FILE}:8:59: error: connection.port: duplicate key "port" (first on line 8): a mapping holds each key once; keep one of them`,
    ]);
  });

  it('hostname:, ca:, sans: and ip: suggest the fields they mean, and the missing field says what to rename', async () => {
    const run = await validate(
      device({
        common_name: 'hostname: dev-01.mgmt.example.com',
        certificate_authority: 'ca: lets_encrypt',
        sans: 'sans: [vpn.sfo1.example.com]',
        ip: 'ip: 192.0.2.1',
      }),
    );
    expect(problemLines(run.stdout)).toEqual([
      `${FILE}:2:1: error: missing required field "common_name"; rename "hostname" to common_name`,
      `${FILE}:2:1: error: missing required field "certificate_authority"; rename "ca" to certificate_authority`,
      `${FILE}:3:1: error: hostname: unknown field "hostname"; did you mean "common_name"?`,
      `${FILE}:7:1: error: ca: unknown field "ca"; did you mean "certificate_authority"?`,
      `${FILE}:10:1: error: sans: unknown field "sans"; did you mean "subject_alternative_names"?`,
      `${FILE}:11:1: error: ip: unknown field "ip"; did you mean "ip_address"?`,
    ]);
  });

  it('keeps the JSON shape and the GitHub annotation, with the hint in the message', async () => {
    const json = await validate(device({ os_version: 'os_version: 10.10' }), 'json');
    const report = JSON.parse(json.stdout);
    expect(report.problems).toEqual([
      {
        severity: 'error',
        file: FILE,
        line: 5,
        column: 13,
        field: 'os_version',
        message:
          'must be a string; you wrote 10.10 unquoted, which YAML reads as the number 10.1: write "10.10"',
      },
    ]);
    const github = await validate(device({ os_version: 'os_version: 10.10' }), 'github');
    expect(github.stdout).toContain(
      `::error file=${FILE},line=5,col=13,title=os_version::must be a string; you wrote 10.10 unquoted, which YAML reads as the number 10.1: write "10.10"`,
    );
  });
});

describe('hint helpers', () => {
  it('without the file text, a number is never quoted back as YAML rewrote it', () => {
    const [finding] = schemaFindings('device', {
      system_name: 'dev-01',
      common_name: 'dev-01.mgmt.example.com',
      host_platform: 'panos',
      os_version: 10.1,
      data_center: 'sfo1',
      certificate_authority: 'lets_encrypt',
    });
    expect(finding?.message).toBe('must be a string, found the number 10.1; write the value in quotes');
  });

  it('suggests aliases only where the field exists, else the closest spelling', () => {
    expect(suggestField('hostname', ['common_name', 'os_version'])).toBe('common_name');
    expect(suggestField('CA', ['certificate_authority'])).toBe('certificate_authority');
    expect(suggestField('ca', ['directory', 'key'])).toBeUndefined();
    expect(suggestField('comon_name', ['common_name', 'os_version'])).toBe('common_name');
    expect(suggestField('zzzz', ['common_name'])).toBeUndefined();
  });

  it('writes list items plain only when YAML reads them back as the same string', () => {
    expect(flowList(['a.example.com', '10.10', 'yes', '*.b.example.com', 'true'])).toBe(
      '[a.example.com, "10.10", yes, "*.b.example.com", "true"]',
    );
  });

  it('leaves a duplicate-key problem alone when the text holds no repeated key there', () => {
    const problem = {
      severity: 'error' as const,
      file: 'f.yaml',
      line: 1,
      column: 1,
      field: '',
      message: 'duplicate key: a key appears twice in one mapping; keep one',
    };
    expect(nameDuplicateKeys([problem], 'a: 1\nb: 2\n')).toEqual([problem]);
  });
});

describe('routing/settings.yaml and routing/routes.yaml get the same hints as device files', () => {
  const SETTINGS = 'routing/settings.yaml';
  const settingsLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith(`${SETTINGS}:`));

  it('a duplicate key in the settings names the key and where it first is', async () => {
    const text = readFileSync(join(repo.root, SETTINGS), 'utf8').replace(
      '    profile: classic',
      '    profile: classic\n    profile: tlsserver',
    );
    repo.write(SETTINGS, text);
    const run = await runCli(['validate', '--root', repo.root]);
    expect(run.code).toBe(1);
    const line = text.split('\n').findIndex((l) => l.startsWith('    profile: tlsserver')) + 1;
    expect(line).toBeGreaterThan(1);
    expect(settingsLines(run.stdout)).toEqual([
      `${SETTINGS}:${line}:5: error: authorities.lets_encrypt.profile: duplicate key "profile" (first on line ${line - 1}): a mapping holds each key once; keep one of them`,
    ]);
  });

  it('a value YAML rewrote is quoted back as the settings file wrote it', async () => {
    const text = readFileSync(join(repo.root, SETTINGS), 'utf8').replace(
      '    profile: classic # ACME profile',
      '    profile: 1e3 # ACME profile',
    );
    repo.write(SETTINGS, text);
    const run = await runCli(['validate', '--root', repo.root]);
    expect(run.code).toBe(1);
    const found = settingsLines(run.stdout).join('\n');
    expect(found).toContain('you wrote 1e3 unquoted, which YAML reads as the number 1000: write "1e3"');
  });
});
