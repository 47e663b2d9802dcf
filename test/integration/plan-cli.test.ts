import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRepo, runCli, type TempRepo } from '../helpers/cli.ts';

const NOW = '2026-11-23T06:00:00Z';
let repo: TempRepo | undefined;
let scratch: string | undefined;
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe('ottr plan on the sample repository', () => {
  it('plans the due devices, most urgent first, with reasons and runner labels', async () => {
    const run = await runCli(['plan', '--now', NOW, '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const plan = JSON.parse(run.stdout);
    expect(plan).toMatchObject({ version: 1, now: '2026-11-23T06:00:00Z', errors: [] });
    expect(plan.due.map((d: { system_name: string }) => d.system_name)).toEqual([
      'fw-ams2-01', // expired 2026-11-20
      'web-sfo1-01', // never rotated
      'fw-sfo1-01', // 6 days left of 90
      'app-ams2-01', // 16 days left of 90
      'lb-sfo1-01', // inside its ARI window
    ]);
    const byName = Object.fromEntries(plan.due.map((d: { system_name: string }) => [d.system_name, d]));
    expect(byName['fw-ams2-01'].reason).toMatch(/expired/);
    expect(byName['web-sfo1-01'].reason).toMatch(/never rotated/);
    expect(byName['lb-sfo1-01'].reason).toMatch(/ARI/);
    expect(byName['app-ams2-01']).toMatchObject({ platform: 'linux-ssm', route: 'linux-aws' });
    expect(plan.skipped.map((s: { system_name: string }) => s.system_name).sort()).toEqual([
      'app-ams2-02',
      'console-ams2-01',
      'console-sfo1-01',
      'fw-sfo1-02',
      'lb-ams2-01',
    ]);
    expect(plan.matrix.include).toHaveLength(5);
    const entry = plan.matrix.include.find((e: { id: string }) => e.id === 'fw-sfo1-01');
    expect(entry).toMatchObject({
      devices: ['fw-sfo1-01'],
      data_center: 'sfo1',
      runs_on: ['self-hosted', 'ottr', 'sfo1'],
    });
    expect(plan.max_parallel).toBe(20);
  });

  it('is a pure function of the inventory and --now: nothing is due a day after everything rotated', async () => {
    const run = await runCli(['plan', '--now', '2026-11-03T00:00:00Z', '--format', 'json']);
    const plan = JSON.parse(run.stdout);
    // On Nov 3 only the never-rotated device, the ARI-less expiring ones past their third are due.
    expect(plan.due.map((d: { system_name: string }) => d.system_name)).toContain('web-sfo1-01');
    expect(plan.due.map((d: { system_name: string }) => d.system_name)).not.toContain('lb-sfo1-01');
  });

  it('--devices and --force make a manual run; unknown names are a usage error with a suggestion', async () => {
    const forced = JSON.parse(
      (await runCli(['plan', '--now', NOW, '--devices', 'fw-sfo1-02', '--force', '--format', 'json'])).stdout,
    );
    expect(forced.due.map((d: { system_name: string }) => d.system_name)).toEqual(['fw-sfo1-02']);
    expect(forced.due[0].reason).toMatch(/forced/);
    expect(forced.counts.not_selected).toBe(9);
    const unknown = await runCli(['plan', '--now', NOW, '--devices', 'fw-sfo1-03']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/fw-sfo1-03.*did you mean "fw-sfo1-0[12]"/);
  });

  it('skips an invalid device with its reason and still plans the rest', async () => {
    repo = makeRepo({ withSampleInventory: true });
    const file = 'inventory/sfo1/fw-sfo1-02.yaml';
    repo.write(
      file,
      readFileSync(join(repo.root, file), 'utf8').replace('os_version: "11.1.2"', 'os_version: 11.1'),
    );
    const run = await runCli(['plan', '--root', repo.root, '--now', NOW, '--format', 'json']);
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout);
    expect(plan.skipped.find((s: { system_name: string }) => s.system_name === 'fw-sfo1-02')).toMatchObject({
      kind: 'invalid',
      reason: expect.stringMatching(/os_version/),
    });
    expect(plan.due).toHaveLength(5);
  });

  it('--format github prints annotations for skipped devices and appends the job summary', async () => {
    repo = makeRepo({ withSampleInventory: true });
    repo.write('inventory/sfo1/broken.yaml', 'system_name: broken\n');
    scratch = mkdtempSync(join(tmpdir(), 'ottr-summary-'));
    const summary = join(scratch, 'summary.md');
    const out = join(scratch, 'plan.json');
    const run = await runCli(
      ['plan', '--root', repo.root, '--now', NOW, '--format', 'github', '--out', out],
      undefined,
      {
        GITHUB_STEP_SUMMARY: summary,
      },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^::warning file=inventory\/sfo1\/broken.yaml,line=1,col=1,.*::device skipped: missing required field/m,
    );
    const markdown = readFileSync(summary, 'utf8');
    expect(markdown).toMatch(/```mermaid\s+gantt/);
    expect(markdown).toContain('fw-ams2-01');
    expect(JSON.parse(readFileSync(out, 'utf8')).counts.due).toBe(5);
  });

  it('refuses to plan when settings are invalid, naming the file and line', async () => {
    repo = makeRepo({ withSampleInventory: true });
    repo.write('routing/settings.yaml', 'authorities: {}\n');
    const run = await runCli(['plan', '--root', repo.root, '--now', NOW]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/routing\/settings.yaml:1:\d+: error:/);
  });

  it('rejects a bad --now', async () => {
    const run = await runCli(['plan', '--now', 'tomorrow']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--now must be an ISO-8601 date/);
  });
});

describe('ottr show and ottr dns-records', () => {
  it('shows one device with route, due status and DNS records', async () => {
    const run = await runCli(['show', 'lb-sfo1-01', '--now', NOW]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/route: +rule "f5-httpd" \(#3\) → platform f5/);
    expect(run.stdout).toMatch(/due: +yes — .*ARI/);
    expect(run.stdout).toMatch(
      /_acme-challenge\.www\.example\.com\. +3600 IN CNAME www\.example\.com\.acme-delegate\.example\.net\./,
    );
  });

  it('suggests a name for a typo', async () => {
    const run = await runCli(['show', 'lb-sfo1-1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/did you mean "lb-sfo1-01"/);
  });

  it('prints every CNAME once, a wildcard at its base name', async () => {
    const run = await runCli(['dns-records', '--format', 'json']);
    expect(run.code).toBe(0);
    const records = JSON.parse(run.stdout) as { name: string; target: string; devices: string[] }[];
    const names = records.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    expect(records.find((r) => r.name === '_acme-challenge.app.example.com')).toEqual({
      name: '_acme-challenge.app.example.com',
      target: 'app.example.com.acme-delegate.example.net',
      devices: ['app-ams2-01'],
    });
    // 10 devices: 10 common names + 5 SANs, the wildcard shares its base with app.example.com
    expect(records).toHaveLength(14);
  });
});
