import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { convertOttr, exportItems, normaliseExpiry, unmarshalItem } from '../../src/import/ottr.ts';
import { compileRoutes } from '../../src/routing/match.ts';
import { PROJECT_ROOT, runCli } from '../helpers/cli.ts';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/ottr');
const routeJson = JSON.parse(readFileSync(join(FIXTURES, 'route.json'), 'utf8'));
const items = exportItems(readFileSync(join(FIXTURES, 'export.json'), 'utf8'));
const router = (routes: Parameters<typeof compileRoutes>[0]) => {
  const match = compileRoutes(routes);
  return (device: Parameters<ReturnType<typeof compileRoutes>>[0]) => {
    const r = match(device);
    return r.matched ? r.route.platform : undefined;
  };
};

describe('convertOttr', () => {
  const result = convertOttr(routeJson, items, router);

  it('turns every (platform, os, authority) into one exact rule, skipping PENDING', () => {
    expect(result.routes.map((r) => r.name)).toEqual([
      'panos-8.1.0-lets_encrypt',
      'panos-9.1.0-lets_encrypt',
      'f5-14.1.0-lets_encrypt',
      'lighthouse-21.q2.0-lets_encrypt',
      'ubuntu-18.04-lets_encrypt',
      'ubuntu-20.04-lets_encrypt',
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
    });
    expect(result.routes[4]!.platform).toBe('linux-ssm');
    expect(result.problems).toContainEqual({
      item: 'platform Windows',
      message: 'is "PENDING", not a route; skipped',
    });
  });

  it('maps the asset fields', () => {
    const fw1 = result.devices.find((d) => d.system_name === 'fw1.sfo1.example.com')!;
    expect(fw1).toEqual({
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
    });
    const lb = result.devices.find((d) => d.system_name === 'lb1.sfo1.example.com')!;
    expect(lb.subject_alternative_names).toEqual(['www.example.com', 'api.example.com']);
    expect(lb.certificate_validation).toBe(false);
    const never = result.devices.find((d) => d.system_name === 'fw2.sfo1.example.com')!;
    expect(never.certificate).toBeUndefined();
    const ssm = result.devices.find((d) => d.system_name === 'app1.ams2.example.com')!;
    expect(ssm).toMatchObject({
      host_platform: 'ubuntu',
      connection: { instance_tag: { key: 'Name', value: 'app1.ams2.example.com' } },
    });
  });

  it('reports broken items by name and field and skips them', () => {
    expect(result.devices).toHaveLength(9);
    expect(result.problems).toContainEqual({ item: 'item #9', message: 'has no system_name; skipped' });
    expect(result.problems).toContainEqual({
      item: 'nodc.example.com',
      message: 'has no data_center; skipped',
    });
    expect(result.problems.find((p) => p.item === 'bad-expiry.ams2.example.com')?.message).toMatch(
      /not a date/,
    );
    expect(result.problems.find((p) => p.item === 'switch1.ams2.example.com')?.message).toMatch(
      /no converted routing rule/,
    );
  });

  it('reports a second item with the same system_name', () => {
    const twice = convertOttr(routeJson, [items[0]!, items[0]!], router);
    expect(twice.devices).toHaveLength(1);
    expect(twice.problems.at(-1)).toEqual({
      item: 'fw1.sfo1.example.com',
      message: 'appears twice in the export; the first is kept',
    });
  });
});

describe('export shapes and values', () => {
  it('reads scan output, S3 export lines and plain arrays alike', () => {
    const typed = {
      system_name: { S: 'a.example.com' },
      n: { N: '3' },
      ok: { BOOL: true },
      l: { L: [{ S: 'x' }] },
    };
    const plain = { system_name: 'a.example.com', n: 3, ok: true, l: ['x'] };
    expect(exportItems(JSON.stringify({ Items: [typed] }))).toEqual([plain]);
    expect(exportItems(`${JSON.stringify({ Item: typed })}\n${JSON.stringify({ Item: typed })}\n`)).toEqual([
      plain,
      plain,
    ]);
    expect(exportItems(JSON.stringify([plain]))).toEqual([plain]);
    expect(unmarshalItem(plain)).toBe(plain);
  });

  it('normalises Ottr expiry strings to UTC', () => {
    expect(normaliseExpiry('2026-12-01T10:00:00')).toBe('2026-12-01T10:00:00Z');
    expect(normaliseExpiry('2026-12-01 10:00:00')).toBe('2026-12-01T10:00:00Z');
    expect(normaliseExpiry('2026-12-01T10:00:00+02:00')).toBe('2026-12-01T08:00:00Z');
    expect(normaliseExpiry('2026-12-01T10:00:00.123456')).toBe('2026-12-01T10:00:00Z');
    expect(normaliseExpiry('soon')).toBeUndefined();
  });
});

describe('ottr import-ottr', () => {
  let out: string | undefined;
  afterEach(() => {
    if (out) rmSync(out, { recursive: true, force: true });
    out = undefined;
  });
  const args = (dir: string) => [
    'import-ottr',
    '--routes',
    join(FIXTURES, 'route.json'),
    '--assets',
    join(FIXTURES, 'export.json'),
    '--out',
    dir,
  ];

  it('writes routes and device files that validate once settings are added', async () => {
    out = mkdtempSync(join(tmpdir(), 'ottr-import-'));
    const run = await runCli(args(out));
    expect(run.code).toBe(1); // some items had problems
    expect(run.stdout).toMatch(/wrote 6 routing rule\(s\)/);
    expect(run.stdout).toMatch(/wrote 9 device file\(s\) of 11 item\(s\) \(ams2 5, sfo1 4\)/);
    expect(existsSync(join(out, 'inventory/sfo1/fw1.sfo1.example.com.yaml'))).toBe(true);
    expect(readFileSync(join(out, 'routing/routes.yaml'), 'utf8')).toContain('os_version: "21.q2.0"');

    writeFileSync(
      join(out, 'routing/settings.yaml'),
      readFileSync(join(PROJECT_ROOT, 'routing/settings.yaml')),
    );
    const validate = await runCli(['validate', '--root', out, '--format', 'json']);
    const report = JSON.parse(validate.stdout);
    // Exactly the two devices the importer warned about need a person: an unroutable switch, an unpinned F5.
    const files = [
      ...new Set(
        report.problems
          .filter((p: { severity: string }) => p.severity === 'error')
          .map((p: { file: string }) => p.file),
      ),
    ];
    expect(files.sort()).toEqual([
      'inventory/ams2/switch1.ams2.example.com.yaml',
      'inventory/sfo1/lb1.sfo1.example.com.yaml',
    ]);
  });

  it('refuses to overwrite without --force and writes nothing', async () => {
    out = mkdtempSync(join(tmpdir(), 'ottr-import-'));
    writeFileSync(join(out, 'keep.txt'), 'x');
    await runCli(args(out));
    writeFileSync(join(out, 'routing/routes.yaml'), 'mine\n');
    rmSync(join(out, 'inventory'), { recursive: true });
    const again = await runCli(args(out));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exist.*nothing was written.*--force/);
    expect(readFileSync(join(out, 'routing/routes.yaml'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(out, 'inventory'))).toBe(false);
    expect((await runCli([...args(out), '--force'])).code).toBe(1);
    expect(readFileSync(join(out, 'routing/routes.yaml'), 'utf8')).not.toBe('mine\n');
  });

  it('names the file, line and column of broken JSON, without a stack trace', async () => {
    out = mkdtempSync(join(tmpdir(), 'ottr-import-'));
    const broken = join(out, 'route.json');
    writeFileSync(broken, '{\n  "platform": {\n    "panos": ,\n  }\n}\n');
    const run = await runCli([
      'import-ottr',
      '--routes',
      broken,
      '--assets',
      join(FIXTURES, 'export.json'),
      '--out',
      out,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/route.json:3:14: invalid JSON/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('requires its flags', async () => {
    const run = await runCli(['import-ottr', '--routes', 'x.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--routes, --assets and --out are required/);
  });
});
