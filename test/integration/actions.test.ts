import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runActionBundle } from '../helpers/action.ts';
import { PROJECT_ROOT } from '../helpers/cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'ottr-actions-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const ACTIONS = readdirSync(join(PROJECT_ROOT, 'actions'), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('the committed action bundles', () => {
  it('are exactly what scripts/build-actions.mjs builds from the sources (run it and commit when this fails)', () => {
    const out = join(scratch, 'rebuilt');
    execFileSync(process.execPath, [join(PROJECT_ROOT, 'scripts/build-actions.mjs'), '--out', out]);
    expect(readdirSync(out).sort()).toEqual(ACTIONS);
    for (const name of ACTIONS) {
      const rebuilt = readFileSync(join(out, name, 'dist/index.mjs'));
      const committed = readFileSync(join(PROJECT_ROOT, 'actions', name, 'dist/index.mjs'));
      expect(rebuilt.equals(committed), `actions/${name}/dist/index.mjs is stale`).toBe(true);
    }
  }, 60_000);

  it('each action.yml runs its bundle on node24 and declares what the code reads', () => {
    for (const name of ACTIONS) {
      const meta = parse(readFileSync(join(PROJECT_ROOT, 'actions', name, 'action.yml'), 'utf8'));
      expect(meta.runs).toEqual({ using: 'node24', main: 'dist/index.mjs' });
      const source = readFileSync(join(PROJECT_ROOT, 'src/actions', `${name}-action.ts`), 'utf8');
      const read = [...source.matchAll(/\b(?:text|flag|list)\('([a-z0-9-]+)'\)/g)].map((m) => m[1]!);
      if (/\bgithubToken\(/.test(source)) read.push('github-token');
      read.sort();
      expect(Object.keys(meta.inputs).sort(), `actions/${name}/action.yml inputs`).toEqual([
        ...new Set(read),
      ]);
      const written = [...source.matchAll(/setOutput\('([a-z0-9_-]+)'/g)].map((m) => m[1]);
      for (const output of written) expect(Object.keys(meta.outputs)).toContain(output);
    }
  });
});

describe('actions/plan run as the runner runs it', () => {
  const repo = join(scratch, 'repo');
  cpSync(PROJECT_ROOT, repo, {
    recursive: true,
    filter: (src) => !/node_modules|\/\.git$|\/tmp$|\/\.bench$/.test(src),
  });

  it('outputs the matrix and counts, writes the plan file and a job summary with the gantt', async () => {
    const run = await runActionBundle('plan', { root: repo, now: '2026-11-23T06:00:00Z' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const matrix = JSON.parse(run.outputs.matrix!);
    expect(matrix.include.length).toBe(Number(run.outputs.jobs));
    expect(run.outputs.has_work).toBe('true');
    expect(Number(run.outputs.due_count)).toBe(matrix.include.length);
    expect(matrix.include[0]).toMatchObject({ devices: [expect.any(String)], runs_on: expect.any(Array) });
    expect(run.outputs.max_parallel).toMatch(/^\d+$/);
    // The AWS session of a rotate job covers its whole timeout (role-duration-seconds in rotate.yml).
    expect(Number(run.outputs.aws_session_seconds)).toBe(
      Math.min(43_200, Math.max(900, Number(run.outputs.timeout_minutes) * 60)),
    );
    expect(run.summary).toMatch(/## Ottr plan/);
    expect(run.summary).toMatch(/```mermaid\ngantt/);
    const plan = JSON.parse(readFileSync(join(repo, 'plan.json'), 'utf8'));
    expect(plan.matrix).toEqual(matrix);
    // The report checks the downloaded plan file against this output.
    expect(run.outputs.plan_sha256).toBe(
      createHash('sha256')
        .update(readFileSync(join(repo, 'plan.json')))
        .digest('hex'),
    );
    // Each entry runs in its data center's environment and names the secrets it is given; the report's
    // secrets are the notification ones only.
    for (const entry of matrix.include) {
      expect(entry.environment).toBe(`pki-${entry.data_center}`);
      expect(entry.secrets.length).toBeGreaterThan(0);
    }
    expect(JSON.parse(run.outputs.report_secrets!)).toEqual(['SLACK_WEBHOOK_URL']);
  });

  it('a manual run for one device with force plans exactly that device', async () => {
    const run = await runActionBundle('plan', { root: repo, devices: 'fw-ams2-01', force: 'true' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(JSON.parse(run.outputs.matrix!).include.map((e: { id: string }) => e.id)).toEqual(['fw-ams2-01']);
  });

  it('has no work when nothing is due', async () => {
    const run = await runActionBundle('plan', {
      root: repo,
      now: '2026-01-01T00:00:00Z',
      devices: 'fw-ams2-01',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs.has_work).toBe('false');
    expect(JSON.parse(run.outputs.matrix!)).toEqual({ include: [] });
  });

  it('bad inputs fail the step with one clear line, no stack trace', async () => {
    for (const [inputs, message] of [
      [{ force: 'yes' }, 'input force must be true or false, not "yes"'],
      [{ devices: 'fw-ams2-1' }, 'not in the inventory: "fw-ams2-1"; did you mean "fw-ams2-01"?'],
      [{ now: 'tomorrow' }, 'input now must be an ISO-8601 date-time, not "tomorrow"'],
    ] as const) {
      const run = await runActionBundle('plan', { root: repo, ...inputs });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`::error::${message}`);
      expect(run.stdout + run.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
