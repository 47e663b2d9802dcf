import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { CliIO } from '../../src/cli/command.ts';
import { boundaryProposal, importOttrCommand } from '../../src/cli/commands/import-ottr.ts';
import {
  authorityKey,
  convertOttr,
  driverForTask,
  JsonSyntaxError,
  normaliseExpiry,
  parseAssetExport,
  unmarshalItem,
} from '../../src/import/ottr.ts';
import type { Device } from '../../src/model/types.ts';
import { PROJECT_ROOT, runCli } from '../helpers/cli.ts';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/ottr');
const ROUTE_FILE = join(FIXTURES, 'route.json');
const EXPORT_FILE = join(FIXTURES, 'export.json');
const routeJson: unknown = JSON.parse(readFileSync(ROUTE_FILE, 'utf8'));
const items = parseAssetExport(readFileSync(EXPORT_FILE, 'utf8'));

const item = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  system_name: 'fw9.sfo1.example.com',
  common_name: 'fw9.sfo1.example.com',
  host_platform: 'panos',
  os_version: '9.1.0',
  device_model: 'PA-3220',
  data_center: 'sfo1',
  certificate_authority: 'lets_encrypt',
  ...fields,
});

describe('convertOttr: route.json', () => {
  const result = convertOttr(routeJson, items);

  it('turns every (platform, os, authority) into one exact rule, in order', () => {
    expect(result.routes.map((r) => [r.name, r.platform])).toEqual([
      ['panos-8.1.0-lets_encrypt', 'panos'],
      ['panos-9.1.0-lets_encrypt', 'panos'],
      ['f5-14.1.0-lets_encrypt', 'f5'],
      ['f5-14.1.0-digicert', 'f5'],
      ['lighthouse-21.q2.0-lets_encrypt', 'lighthouse'],
      ['ubuntu-18.04-lets_encrypt', 'linux-ssm'],
      ['ubuntu-20.04-lets_encrypt', 'linux-ssm'],
      ['debian-11-lets_encrypt', 'linux-ssh'],
    ]);
    expect(result.routes[0]).toEqual({
      name: 'panos-8.1.0-lets_encrypt',
      match: {
        host_platform: 'panos',
        os_version: '8.1.0',
        certificate_authority: 'lets_encrypt',
        device_model: ['PA-3220', 'PA-5250'],
      },
      platform: 'panos',
      options: { ssl_tls_profile: 'otter' },
    });
    expect(result.routes[4]!.match).toEqual({
      host_platform: 'lighthouse',
      os_version: '21.Q2.0',
      certificate_authority: 'lets_encrypt',
    });
    expect(result.routeSources[5]).toBe(
      'route.json platform "Ubuntu" os "18.04" certificate_authority "lets_encrypt" → otter-linux-aws-ssm-lets-encrypt',
    );
  });

  it('notes PENDING platforms, hosted zones and the authorities to configure, without calling them problems', () => {
    expect(result.notes.join('\n')).toMatch(/Windows, ios, nxos as PENDING/);
    expect(result.notes.join('\n')).toMatch(/example\.com \(Z0123456789ABCDEFGHIJ\)/);
    expect(result.notes).toContain(
      'routing/settings.yaml needs these keys under authorities: digicert, lets_encrypt',
    );
    expect(result.problems.filter((p) => p.item.startsWith('route.json'))).toEqual([]);
  });

  it('reports route.json entries it cannot convert', () => {
    const bad = convertOttr(
      {
        platform: {
          panos: {
            os: {
              '9.x1': { certificate_authority: { lets_encrypt: 'otter-panos-9x-lets-encrypt' } },
              '10.1.0': { certificate_authority: { lets_encrypt: 'otter-windows-lets-encrypt' } },
              '10.2.0': { certificate_authority: { lets_encrypt: 'otter-panos-10x' }, model: [] },
              '10.3.0': { model: ['PA-220'] },
            },
          },
          f5: ['not', 'a', 'route'],
        },
      },
      [],
    );
    expect(bad.routes).toEqual([]);
    expect(bad.problems.map((p) => `${p.item}: ${p.message}`)).toEqual([
      'route.json platform "panos" os "9.x1": os version "9.x1": x stands for a whole segment only (10.x, 10.2.x), not part of one ("x1"); skipped',
      'route.json platform "panos" os "10.1.0" certificate_authority "lets_encrypt": task "otter-windows-lets-encrypt" names no supported platform (panos, f5, lighthouse, linux ssm/ssh); skipped',
      'route.json platform "panos" os "10.2.0": model is an empty list, so Ottr routed no device with it; skipped',
      'route.json platform "panos" os "10.3.0": has no certificate_authority map; skipped',
      'route.json platform "f5": is a list, not {"os": {...}}; skipped',
    ]);
    expect(convertOttr({ routes: [] }, []).problems[0]!.message).toMatch(/has no "platform" object/);
  });

  it('maps Ottr task families and authority names', () => {
    expect(
      [
        'otter-panos-8x-lets-encrypt',
        'otter-f5-14x-lets-encrypt',
        'otter-lighthouse-21x-lets-encrypt',
        'otter-linux-aws-ssm-lets-encrypt',
        'otter-linux-ssh-digicert',
        'linux-ssm',
        'otter-ios-lets-encrypt',
      ].map(driverForTask),
    ).toEqual(['panos', 'f5', 'lighthouse', 'linux-ssm', 'linux-ssh', 'linux-ssm', undefined]);
    expect(
      ["Let's Encrypt", 'LetsEncrypt', 'lets-encrypt', 'DigiCert Inc', 'Corp CA (prod)'].map(authorityKey),
    ).toEqual(['lets_encrypt', 'lets_encrypt', 'lets_encrypt', 'digicert', 'corp_ca_prod']);
  });
});

describe('convertOttr: asset items', () => {
  const result = convertOttr(routeJson, items);
  const byName = (name: string) => result.devices.find((d) => d.system_name === name);
  const problemsOf = (name: string) => result.problems.filter((p) => p.item === name).map((p) => p.message);

  it('maps the fields of a complete item', () => {
    expect(byName('fw1.sfo1.example.com')).toEqual({
      system_name: 'fw1.sfo1.example.com',
      common_name: 'fw1.sfo1.example.com',
      subject_alternative_names: ['vpn.example.com'],
      host_platform: 'panos',
      os_version: '9.1.0',
      device_model: 'PA-3220',
      data_center: 'sfo1',
      ip_address: '10.1.0.1',
      certificate_authority: 'lets_encrypt',
      connection: { credentials: 'PANOS_API_KEY' },
      labels: { origin: 'API' },
      certificate: { not_after: '2026-12-01T10:00:00Z' },
    } satisfies Device);
  });

  it('drops the CN and duplicates from the SANs, lowercases names and keeps certificate_validation false', () => {
    const lb = byName('lb1.sfo1.example.com')!;
    expect(lb.common_name).toBe('www.example.com');
    expect(lb.subject_alternative_names).toEqual(['api.example.com']);
    expect(lb.certificate_validation).toBe(false);
    expect(lb.certificate).toEqual({ not_after: '2026-11-30T08:00:00Z' });
    expect(lb.connection).toEqual({ credentials: 'F5_CREDENTIALS' });
    expect(problemsOf('lb1.sfo1.example.com')).toEqual([
      expect.stringMatching(/certificate_validation is False: pin .*connection\.tls_spki_sha256/),
    ]);
    expect(byName('console1.ams2.example.com')).toMatchObject({
      data_center: 'ams2',
      os_version: '21.Q2.0',
      connection: { credentials: 'LIGHTHOUSE_CREDENTIALS' },
      certificate: { not_after: '2027-01-15T00:00:00Z' },
    });
    expect(byName('console1.ams2.example.com')!.certificate_validation).toBeUndefined();
  });

  it('leaves never-rotated devices without a certificate, so they are due', () => {
    expect(byName('fw2.sfo1.example.com')!.certificate).toBeUndefined();
    expect(byName('fw2.sfo1.example.com')!.subject_alternative_names).toBeUndefined();
  });

  it('finds SSM instances by tag Name = the short host name, as Ottr did', () => {
    expect(byName('app1.ams2.example.com')).toMatchObject({
      host_platform: 'ubuntu',
      connection: { instance_tag: { key: 'Name', value: 'app1' } },
      labels: { origin: 'SSM' },
    });
    expect(byName('app1.ams2.example.com')!.connection!.credentials).toBeUndefined();
    expect(problemsOf('app1.ams2.example.com')).toEqual([]);
  });

  it('asks for the SSH host key of linux-ssh devices', () => {
    expect(byName('bastion1.ams2.example.com')).toMatchObject({
      os_version: '11', // stored as a DynamoDB number
      connection: { credentials: 'LINUX_SSH_KEY' },
    });
    expect(problemsOf('bastion1.ams2.example.com')).toEqual([
      expect.stringMatching(/^linux-ssh: fill in connection\.ssh_host_key before the device validates/),
    ]);
  });

  it('keeps devices no rule matches, with the reason', () => {
    expect(byName('fw3.ams2.example.com')!.connection).toBeUndefined();
    expect(problemsOf('fw3.ams2.example.com')).toEqual([
      'no routing rule matches (host_platform=panos, os_version=9.1.0, certificate_authority=digicert, device_model=PA-3220); closest: rule "panos-9.1.0-lets_encrypt" (#2) needs certificate_authority lets_encrypt; written without connection settings',
    ]);
    expect(problemsOf('switch1.ams2.example.com')).toEqual([
      expect.stringMatching(/^no routing rule matches/),
    ]);
  });

  it('reports broken items by name and field and skips them', () => {
    expect(result.devices.map((d) => d.system_name).sort()).toEqual([
      'app1.ams2.example.com',
      'app2.ams2.example.com',
      'bastion1.ams2.example.com',
      'console1.ams2.example.com',
      'fw1.sfo1.example.com',
      'fw2.sfo1.example.com',
      'fw3.ams2.example.com',
      'lb1.sfo1.example.com',
      'lb2.sfo1.example.com',
      'switch1.ams2.example.com',
    ]);
    expect(problemsOf('item #12')).toEqual(['system_name is missing; item skipped']);
    expect(problemsOf('nodc.example.com')).toEqual(['data_center is missing; item skipped']);
    expect(problemsOf('bad-expiry.ams2.example.com')).toEqual([
      'certificate_expiration "next tuesday" is not an ISO-8601 date-time; item skipped',
    ]);
    expect(problemsOf('bad-ip.ams2.example.com')).toEqual([
      'ip_address "10.2.0.300" is not an IPv4 or IPv6 address; item skipped',
    ]);
    expect(problemsOf('switch2.ams2.example.com')).toEqual([
      expect.stringMatching(/^os_version "9\.3\(8\)" is not a version/),
    ]);
    expect(problemsOf('FW1.SFO1.example.com')).toEqual([
      'system_name appears more than once in the export (compared in lowercase); the first is kept',
    ]);
  });

  it('reports every bad field of an item at once', () => {
    const out = convertOttr(routeJson, [
      item({
        system_name: 'Core Router 1',
        data_center: 'SFO/1',
        common_name: 'under_score.example.com',
        subject_alternative_name: ['ok.example.com', 'a.*.example.com', 7],
        certificate_validation: 'maybe',
        os_version: ['9.1.0'],
      }),
      'not an object',
    ]);
    expect(out.devices).toEqual([]);
    expect(out.problems.map((p) => p.item)).toEqual([...Array(7).fill('Core Router 1'), 'item #2']);
    expect(out.problems.map((p) => p.message)).toEqual([
      'system_name "Core Router 1" cannot be a file name ([a-z0-9][a-z0-9._-]{0,62}); item skipped',
      expect.stringMatching(/^common_name "under_score\.example\.com" label "under_score" may hold only/),
      'os_version is a list, not a string; item skipped',
      'data_center "SFO/1" cannot be a folder name ([a-z0-9][a-z0-9._-]{0,62}); item skipped',
      expect.stringMatching(/^subject_alternative_name "a\.\*\.example\.com" .*wildcard/),
      expect.stringMatching(/^subject_alternative_name holds number 7, not a name/),
      'certificate_validation "maybe" is not True or False; item skipped',
      'is string "not an object", not an item; skipped',
    ]);
  });

  it('accepts plain items with real booleans, comma-separated SANs and "None" placeholders', () => {
    const out = convertOttr(routeJson, [
      item({
        subject_alternative_name: 'a.example.com, B.example.com.,fw9.sfo1.example.com',
        certificate_validation: true,
        certificate_expiration: 'None',
        ip_address: 'None',
        device_model: 'PA-3220',
        origin: 'None',
      }),
    ]);
    expect(out.problems).toEqual([]);
    expect(out.devices).toEqual([
      {
        system_name: 'fw9.sfo1.example.com',
        common_name: 'fw9.sfo1.example.com',
        subject_alternative_names: ['a.example.com', 'b.example.com'],
        host_platform: 'panos',
        os_version: '9.1.0',
        device_model: 'PA-3220',
        data_center: 'sfo1',
        certificate_authority: 'lets_encrypt',
        connection: { credentials: 'PANOS_API_KEY' },
      },
    ]);
  });
});

describe('export shapes and values', () => {
  const typed = {
    system_name: { S: 'a.example.com' },
    n: { N: '10.20' },
    ok: { BOOL: true },
    nothing: { NULL: true },
    l: { L: [{ S: 'x' }, { N: '1' }] },
    ss: { SS: ['p', 'q'] },
    m: { M: { k: { S: 'v' } } },
  };
  const plain = {
    system_name: 'a.example.com',
    n: '10.20',
    ok: true,
    nothing: null,
    l: ['x', '1'],
    ss: ['p', 'q'],
    m: { k: 'v' },
  };

  it('reads scan output, S3 export lines and plain arrays alike', () => {
    expect(parseAssetExport(JSON.stringify({ Items: [typed], Count: 1, ScannedCount: 1 }))).toEqual([plain]);
    expect(parseAssetExport(JSON.stringify({ Items: [typed] }, null, 4))).toEqual([plain]);
    const lines = `${JSON.stringify({ Item: typed })}\n\n${JSON.stringify({ Item: typed })}\n`;
    expect(parseAssetExport(lines)).toEqual([plain, plain]);
    expect(parseAssetExport(JSON.stringify({ Item: typed }))).toEqual([plain]);
    expect(parseAssetExport(JSON.stringify([plain]))).toEqual([plain]);
    expect(parseAssetExport(JSON.stringify([typed]))).toEqual([plain]);
    expect(unmarshalItem(plain)).toBe(plain);
  });

  it('names the line and column of broken JSON, also in the line format', () => {
    const lines = `${JSON.stringify({ Item: typed })}\n${JSON.stringify({ Item: typed })}\n{"Item": {"system_name": {"S": "b"},}}\n`;
    expect(() => parseAssetExport(lines)).toThrow(JsonSyntaxError);
    expect(() => parseAssetExport(lines)).toThrow(
      /^3:37: invalid JSON: a property name in double quotes expected$/,
    );
    expect(() => parseAssetExport('{"Items": [\n  {"a": 1}\n  {"b": 2}\n]}')).toThrow(
      /^3:3: invalid JSON: "," expected/,
    );
    expect(() => parseAssetExport('')).toThrow(/empty/);
    expect(() => parseAssetExport('{"Tables": []}')).toThrow(/not a DynamoDB export/);
  });

  it('normalises Ottr expiry strings to UTC', () => {
    expect(normaliseExpiry('2026-12-01T10:00:00')).toBe('2026-12-01T10:00:00Z');
    expect(normaliseExpiry('2026-12-01 10:00:00')).toBe('2026-12-01T10:00:00Z');
    expect(normaliseExpiry('2026-12-01T10:00:00Z')).toBe('2026-12-01T10:00:00Z');
    expect(normaliseExpiry('2026-12-01T10:00:00+02:00')).toBe('2026-12-01T08:00:00Z');
    expect(normaliseExpiry('2026-12-01T01:00:00-0230')).toBe('2026-12-01T03:30:00Z');
    expect(normaliseExpiry('2026-12-01T10:00:00.999999')).toBe('2026-12-01T10:00:00Z');
    expect(normaliseExpiry('2026-12-01T10:00')).toBe('2026-12-01T10:00:00Z');
    expect(normaliseExpiry('2026-12-01')).toBe('2026-12-01T00:00:00Z');
    expect(normaliseExpiry('2026-02-30T00:00:00')).toBeUndefined();
    expect(normaliseExpiry('2026-12-01T25:00:00')).toBeUndefined();
    expect(normaliseExpiry('Dec 1 2026')).toBeUndefined();
    expect(normaliseExpiry('2026')).toBeUndefined();
    expect(normaliseExpiry('soon')).toBeUndefined();
  });
});

describe('ottr import-ottr', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const temp = () => {
    dir = mkdtempSync(join(tmpdir(), 'ottr-import-'));
    return dir;
  };
  const capture = (cwd = PROJECT_ROOT) => {
    const out = { stdout: '', stderr: '' };
    const io: CliIO = {
      stdout: (t) => {
        out.stdout += t;
      },
      stderr: (t) => {
        out.stderr += t;
      },
      env: {},
      cwd,
    };
    return { io, out };
  };
  const args = (outDir: string, assets = EXPORT_FILE) => [
    '--routes',
    ROUTE_FILE,
    '--assets',
    assets,
    '--out',
    outDir,
  ];
  const listFiles = (root: string): string[] =>
    readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
      .sort();

  it('writes routes and device files, prints a summary and exits 1 when some items had problems', async () => {
    const out = join(temp(), 'repo');
    const { io, out: printed } = capture();
    expect(await importOttrCommand.run(args(out), io)).toBe(1);
    expect(printed.stdout).toContain('routing/routes.yaml: 8 rule(s)');
    expect(printed.stdout).toContain('inventory: 10 device file(s) from 16 item(s)');
    expect(printed.stdout).toContain('  inventory/ams2/: 6\n  inventory/sfo1/: 4\n');
    expect(printed.stderr).toMatch(
      /^\n10 problem\(s\):\n {2}lb1\.sfo1\.example\.com: certificate_validation is False/,
    );
    expect(printed.stderr).toContain('  item #12: system_name is missing; item skipped\n');
    expect(listFiles(out)).toEqual([
      'inventory/ams2/app1.ams2.example.com.yaml',
      'inventory/ams2/app2.ams2.example.com.yaml',
      'inventory/ams2/bastion1.ams2.example.com.yaml',
      'inventory/ams2/console1.ams2.example.com.yaml',
      'inventory/ams2/fw3.ams2.example.com.yaml',
      'inventory/ams2/switch1.ams2.example.com.yaml',
      'inventory/sfo1/fw1.sfo1.example.com.yaml',
      'inventory/sfo1/fw2.sfo1.example.com.yaml',
      'inventory/sfo1/lb1.sfo1.example.com.yaml',
      'inventory/sfo1/lb2.sfo1.example.com.yaml',
      'routing/routes.yaml',
    ]);

    const routesText = readFileSync(join(out, 'routing/routes.yaml'), 'utf8');
    expect(routesText.startsWith('# yaml-language-server: $schema=../schemas/routes.schema.json\n')).toBe(
      true,
    );
    expect(routesText).toContain('os_version: "21.Q2.0"');
    expect(routesText).toContain('os_version: "11"');
    expect(parse(routesText).routes).toEqual(convertOttr(routeJson, items).routes);

    const fw1Text = readFileSync(join(out, 'inventory/sfo1/fw1.sfo1.example.com.yaml'), 'utf8');
    expect(fw1Text.startsWith('# yaml-language-server: $schema=../../schemas/device.schema.json\n')).toBe(
      true,
    );
    expect(fw1Text).toMatch(/# the NAME of a secret .*\n {2}credentials: PANOS_API_KEY/);
    expect(parse(fw1Text)).toEqual(convertOttr(routeJson, items).devices[0]);
  });

  it('produces files that validate, except exactly the devices it reported', async () => {
    const out = join(temp(), 'repo');
    expect(await importOttrCommand.run(args(out), capture().io)).toBe(1);
    cpSync(join(PROJECT_ROOT, 'schemas'), join(out, 'schemas'), { recursive: true });
    // Ottr made RSA 2048 keys everywhere (and Lighthouse can make nothing else): the imported fleet's authority
    // policy says so.
    let settings = readFileSync(join(PROJECT_ROOT, 'routing/settings.yaml'), 'utf8')
      .replace(
        /^authorities:\n/m,
        'authorities:\n  digicert:\n    directory: https://acme.digicert.com/v2/acme/directory/\n    account_key_secret: DIGICERT_ACCOUNT_KEY\n',
      )
      .replace('key: { type: ecdsa, curve: P-256 }', 'key: { type: rsa, size: 2048 }')
      // The sample's trust boundary gives way to the one the import proposes for the imported fleet.
      .replace(/\n# The trust boundary\.[\s\S]*$/, '\n');
    const proposal = boundaryProposal(convertOttr(routeJson, items).devices).slice(1);
    const accounts = ['DIGICERT_ACCOUNT_KEY', 'LE_ACCOUNT_KEY', 'CORP_CA_ACCOUNT_KEY']
      .map((n) => `  ${n}: { purpose: acme_account }`)
      .concat(['  CORP_CA_EAB_KID: { purpose: eab }', '  CORP_CA_EAB_HMAC: { purpose: eab }'])
      .concat(['  SLACK_WEBHOOK_URL: { purpose: notification }']);
    settings += `${[proposal[0], ...accounts, ...proposal.slice(1)].join('\n')}\n`;
    writeFileSync(join(out, 'routing/settings.yaml'), settings);
    const validate = await runCli(['validate', '--root', out, '--format', 'json']);
    const report = JSON.parse(validate.stdout) as { problems: { severity: string; file: string }[] };
    const files = [...new Set(report.problems.filter((p) => p.severity === 'error').map((p) => p.file))];
    expect(files.sort()).toEqual([
      'inventory/ams2/bastion1.ams2.example.com.yaml', // ssh_host_key to fill in
      'inventory/ams2/fw3.ams2.example.com.yaml', // no rule for panos + digicert
      'inventory/ams2/switch1.ams2.example.com.yaml', // nxos is PENDING in Ottr
      'inventory/sfo1/lb1.sfo1.example.com.yaml', // certificate_validation false, no pin
    ]);
  });

  it('exits 0 when everything converted', async () => {
    const root = temp();
    const clean = join(root, 'clean.json');
    writeFileSync(
      clean,
      JSON.stringify([
        item(),
        item({ system_name: 'fw8.sfo1.example.com', common_name: 'fw8.sfo1.example.com' }),
      ]),
    );
    const { io, out } = capture();
    expect(await importOttrCommand.run(args(join(root, 'repo'), clean), io)).toBe(0);
    expect(out.stderr).toBe('');
    expect(out.stdout).toContain('inventory: 2 device file(s) from 2 item(s)');
  });

  it('reads S3 export files, gzipped or not, and several --assets', async () => {
    const root = temp();
    const [first, ...rest] = items as Record<string, unknown>[];
    const typed = (v: unknown): unknown =>
      typeof v === 'string' ? { S: v } : Array.isArray(v) ? { L: v.map(typed) } : { BOOL: v };
    const toLine = (i: Record<string, unknown>) =>
      JSON.stringify({ Item: Object.fromEntries(Object.entries(i).map(([k, v]) => [k, typed(v)])) });
    writeFileSync(join(root, 'a.json.gz'), gzipSync(`${toLine(first!)}\n`));
    writeFileSync(join(root, 'b.json'), JSON.stringify(rest.slice(0, 1)));
    const { io, out } = capture(root);
    const code = await importOttrCommand.run(
      ['--routes', ROUTE_FILE, '--assets', 'a.json.gz', '--assets', 'b.json', '--out', 'repo'],
      io,
    );
    expect(code).toBe(0);
    expect(out.stdout).toContain('inventory: 2 device file(s) from 2 item(s)');
    expect(existsSync(join(root, 'repo/inventory/sfo1/fw1.sfo1.example.com.yaml'))).toBe(true);
  });

  it('refuses to overwrite without --force and then writes nothing at all', async () => {
    const out = join(temp(), 'repo');
    await importOttrCommand.run(args(out), capture().io);
    writeFileSync(join(out, 'routing/routes.yaml'), 'mine\n');
    rmSync(join(out, 'inventory'), { recursive: true });

    const { io, out: printed } = capture();
    expect(await importOttrCommand.run(args(out), io)).toBe(2);
    expect(printed.stderr).toMatch(
      /1 output file\(s\) already exist in .*repo; nothing was written\. Use --force to overwrite them:\n {2}routing\/routes\.yaml\n/,
    );
    expect(readFileSync(join(out, 'routing/routes.yaml'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(out, 'inventory'))).toBe(false);
    expect(listFiles(out)).toEqual(['routing/routes.yaml']);

    expect(await importOttrCommand.run([...args(out), '--force'], capture().io)).toBe(1);
    expect(readFileSync(join(out, 'routing/routes.yaml'), 'utf8')).not.toBe('mine\n');
    expect(listFiles(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(listFiles(out)).toHaveLength(11);
  });

  it('names the file, line and column of broken JSON, without a stack trace', async () => {
    const root = temp();
    writeFileSync(join(root, 'route.json'), '{\n  "platform": {\n    "panos": ,\n  }\n}\n');
    const { io, out } = capture(root);
    const code = await importOttrCommand.run(
      ['--routes', 'route.json', '--assets', EXPORT_FILE, '--out', 'repo'],
      io,
    );
    expect(code).toBe(1);
    expect(out.stderr).toBe('ottr import-ottr: route.json:3:14: invalid JSON: a value expected\n');
    expect(existsSync(join(root, 'repo'))).toBe(false);

    writeFileSync(
      join(root, 'export.json'),
      '{"Items": [\n  {"system_name": {"S": "a"}}\n  {"system_name": {"S": "b"}}\n]}\n',
    );
    const again = capture(root);
    expect(
      await importOttrCommand.run(
        ['--routes', ROUTE_FILE, '--assets', 'export.json', '--out', 'repo'],
        again.io,
      ),
    ).toBe(1);
    expect(again.out.stderr).toBe('ottr import-ottr: export.json:3:3: invalid JSON: "," expected\n');
  });

  it('treats missing flags and unreadable files as usage errors', async () => {
    const { io } = capture();
    await expect(importOttrCommand.run(['--routes', ROUTE_FILE], io)).rejects.toThrow(
      /missing --assets, --out/,
    );
    await expect(importOttrCommand.run([...args('/tmp/x'), '--bogus'], io)).rejects.toThrow(/--bogus/);
    await expect(
      importOttrCommand.run(['--routes', 'nope.json', '--assets', EXPORT_FILE, '--out', '/tmp/x'], io),
    ).rejects.toThrow('--routes nope.json: no such file');
    const run = await runCli(['import-ottr', '--routes', 'x.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--routes, --assets and --out are required/);
  });

  it('explains itself in --help', async () => {
    const { io, out } = capture();
    expect(await importOttrCommand.run(['--help'], io)).toBe(0);
    for (const text of [
      'aws dynamodb scan',
      'PANOS_API_KEY',
      'ssh_host_key',
      'ottr validate',
      '--force',
      'lets_encrypt',
    ]) {
      expect(out.stdout).toContain(text);
    }
  });
});
