import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import { truthy } from '@actions/expressions/result';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RESULT_ARTIFACT_PREFIX } from '../../src/gitops/accept-results.ts';
import { PROJECT_ROOT } from '../helpers/cli.ts';

/**
 * The workflows against what GitHub does when it runs them: the token's permissions for the calls the code
 * makes, "re-run failed jobs" (the same run, so the same artifact names), and required checks on pull requests.
 */
const WORKFLOWS = join(PROJECT_ROOT, '.github/workflows');
const workflow = (file: string) => parse(readFileSync(join(WORKFLOWS, file), 'utf8'));
const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith('.yml'));

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  permissions?: Record<string, string>;
  steps: Step[];
}

const jobs = (file: string) => Object.entries(workflow(file).jobs as Record<string, Job>);

describe('permissions for what the code calls', () => {
  it('the code labels pull requests through the Issues API (POST /repos/{owner}/{repo}/issues/{number}/labels)', () => {
    const source = readFileSync(join(PROJECT_ROOT, 'src/gitops/pull-request.ts'), 'utf8');
    expect(source).toMatch(/rest\.issues\.addLabels\(/);
  });

  // A GITHUB_TOKEN without `issues: write` gets 403 "Resource not accessible by integration" on the labels of a
  // pull request, `pull-requests: write` notwithstanding (docs.github.com, "Permissions for the GITHUB_TOKEN").
  it('every job whose ottr action labels a pull request may write issues', () => {
    const labelling: string[] = [];
    for (const file of files)
      for (const [name, job] of jobs(file))
        for (const step of job.steps ?? [])
          if (step.uses === './actions/sync' || step.uses === './actions/report') {
            labelling.push(`${file}:${name}`);
            expect(job.permissions, `${file} job ${name}`).toMatchObject({
              'pull-requests': 'write',
              issues: 'write',
            });
          }
    expect(labelling.sort()).toEqual(['rotate.yml:report', 'sync.yml:sync']);
  });

  it("sync.yml's sync step asks for labels, so its job needs issues: write", () => {
    const [, sync] = jobs('sync.yml').find(([name]) => name === 'sync')!;
    const step = sync.steps.find((s) => s.uses === './actions/sync')!;
    expect(String(step.with?.labels).split(/[\s,]/).filter(Boolean)).toEqual(['ottr', 'onboarding']);
    expect(sync.permissions?.issues).toBe('write');
  });
});

describe('artifacts survive "re-run failed jobs"', () => {
  const uploads = files.flatMap((file) =>
    jobs(file).flatMap(([job, { steps }]) =>
      (steps ?? [])
        .filter((s) => s.uses?.startsWith('actions/upload-artifact@'))
        .map((step) => ({ where: `${file} job ${job}`, job, step })),
    ),
  );

  // A re-run is the same workflow run: upload-artifact v4 answers a second artifact of the same name with 409
  // Conflict unless `overwrite: true` (actions/upload-artifact docs/MIGRATION.md, "Overwriting an Artifact").
  it('every upload replaces an artifact of its name left by an earlier attempt', () => {
    expect(uploads.length).toBeGreaterThanOrEqual(3);
    for (const { where, step } of uploads) expect(step.with?.overwrite, where).toBe(true);
  });

  it('the names stay what the downloads and the report look for (no run_attempt in them)', () => {
    const rotate = Object.fromEntries(jobs('rotate.yml'));
    const result = uploads.find((u) => u.job === 'rotate')!;
    expect(result.step.with?.name).toBe(`${RESULT_ARTIFACT_PREFIX}${expression('matrix.id')}`);
    const downloads = Object.values(rotate).flatMap((job) =>
      job.steps.filter((s) => s.uses?.startsWith('actions/download-artifact@')),
    );
    expect(downloads.map((d) => d.with?.pattern).filter(Boolean)).toEqual([`${RESULT_ARTIFACT_PREFIX}*`]);
    const uploaded = new Set(uploads.map((u) => u.step.with?.name));
    for (const d of downloads.filter((d) => d.with?.name)) expect(uploaded).toContain(d.with?.name);
    for (const { step } of uploads) expect(String(step.with?.name)).not.toMatch(/run_attempt/);
  });
});

describe('validate.yml: a required check that always reports', () => {
  const validate = workflow('validate.yml');
  const steps = validate.jobs.validate.steps as Step[];
  const changesAt = steps.findIndex((s) => s.id === 'changes');

  // "If a workflow is skipped due to path filtering [...] checks associated with that workflow will remain in a
  // Pending state" (docs.github.com, "Troubleshooting required status checks"); a skipped step is not.
  it('runs on every pull request: no paths or paths-ignore filter', () => {
    expect(Object.keys(validate.on)).toEqual(['pull_request']);
    expect(validate.on.pull_request ?? {}).not.toHaveProperty('paths');
    expect(validate.on.pull_request ?? {}).not.toHaveProperty('paths-ignore');
  });

  it('first learns what changed, from the pull request checkout alone', () => {
    expect(changesAt).toBe(1);
    expect(steps[0]!.uses).toMatch(/^actions\/checkout@/);
    expect(steps[0]!.with).toMatchObject({ path: 'pr', 'fetch-depth': 0 });
  });

  it('skips every later step when nothing relevant changed, and runs each when something did', () => {
    const later = steps.slice(changesAt + 1);
    expect(later.length).toBeGreaterThanOrEqual(7);
    for (const step of later) {
      const label = step.name ?? step.uses ?? step.run;
      expect(step.if, label).toBeDefined();
      expect(stepRuns(step.if!, 'false'), label).toBe(false);
      expect(stepRuns(step.if!, 'true'), label).toBe(true);
      expect(stepRuns(step.if!, ''), `${label} (the changes step failed)`).toBe(false);
    }
  });

  describe('the changes step, run as the runner runs a bash step', () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_IDENTITY } }).trim();

    /** A pull request checkout (pr/) whose head adds `changed` to a base commit; the step's outputs. */
    function changesFor(changed: string, baseSha?: string): { outputs: string; summary: string } {
      dir = mkdtempSync(join(tmpdir(), 'ottr-validate-'));
      const pr = join(dir, 'pr');
      mkdirSync(join(pr, 'inventory/dc1'), { recursive: true });
      git(pr, 'init', '-q', '-b', 'main');
      writeFileSync(join(pr, 'inventory/dc1/a.yaml'), 'system_name: a\n');
      writeFileSync(join(pr, 'README.md'), 'readme\n');
      git(pr, 'add', '.');
      git(pr, 'commit', '-qm', 'base');
      const base = git(pr, 'rev-parse', 'HEAD');
      mkdirSync(join(pr, changed, '..'), { recursive: true });
      writeFileSync(join(pr, changed), 'changed\n');
      git(pr, 'add', '.');
      git(pr, 'commit', '-qm', 'pull request');
      const output = join(dir, 'output');
      const summary = join(dir, 'summary');
      writeFileSync(output, '');
      writeFileSync(summary, '');
      const step = steps[changesAt]!;
      const script = join(dir, 'step.sh');
      writeFileSync(script, step.run!);
      // GitHub's `bash` shell: bash --noprofile --norc -eo pipefail {0} (docs.github.com, workflow syntax, shell).
      const run = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
        cwd: join(dir, (step.with?.['working-directory'] as string | undefined) ?? 'pr'),
        env: {
          PATH: process.env.PATH,
          BASE_SHA: baseSha ?? base,
          GITHUB_OUTPUT: output,
          GITHUB_STEP_SUMMARY: summary,
        },
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      return { outputs: readFileSync(output, 'utf8'), summary: readFileSync(summary, 'utf8') };
    }

    it('is in pr/ and reads the base from the event, through env (never pasted into the script)', () => {
      const step = steps[changesAt]!;
      expect((step as Record<string, unknown>)['working-directory']).toBe('pr');
      expect(step.env).toEqual({ BASE_SHA: expression('github.event.pull_request.base.sha') });
      expect(step.run).not.toContain('${{');
    });

    it.each([
      'README.md',
      'docs/guide.md',
      'src/cli/main.ts',
    ])('a pull request changing only %s: nothing to check', (changed) => {
      const { outputs, summary } = changesFor(changed);
      expect(outputs).toBe('relevant=false\n');
      expect(summary).toMatch(/nothing to check/);
    });

    it.each([
      'inventory/dc1/b.yaml',
      'routing/routes.yaml',
      'schemas/device.schema.json',
      '.github/workflows/rotate.yml',
    ])('a pull request changing %s: checked', (changed) => {
      expect(changesFor(changed).outputs).toBe('relevant=true\n');
    });

    it('a base git cannot find: checked (never skipped on doubt)', () => {
      expect(changesFor('README.md', '0'.repeat(40)).outputs).toBe('relevant=true\n');
    });
  });
});

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/**
 * Whether a step's `if:` lets it run, evaluated by GitHub's expression evaluator with the changes step's output,
 * no earlier step having failed (so always() and the implicit success() are both true).
 */
function stepRuns(condition: string, relevant: string): boolean {
  const text = condition.replace(/\balways\(\)/g, 'true');
  const lexed = new Lexer(text).lex();
  const expr = new Parser(lexed.tokens, ['steps'], []).parse();
  const steps = new data.Dictionary({
    key: 'changes',
    value: new data.Dictionary({
      key: 'outputs',
      value:
        relevant === ''
          ? new data.Dictionary()
          : new data.Dictionary({ key: 'relevant', value: new data.StringData(relevant) }),
    }),
  });
  const result = new Evaluator(expr, new data.Dictionary({ key: 'steps', value: steps })).evaluate();
  return truthy(result);
}

/** A GitHub expression as written in a workflow: ${{ text }}. */
function expression(text: string): string {
  return ['$', '{{ ', text, ' }}'].join('');
}

describe('a long shard keeps its AWS session', () => {
  it('every configure-aws-credentials step asks for the session the plan computed for the whole job', () => {
    const rotate = workflow('rotate.yml');
    expect(rotate.jobs.plan.outputs.aws_session_seconds).toBe(
      '${{ steps.plan.outputs.aws_session_seconds }}',
    );
    const steps = (Object.values(rotate.jobs) as Job[])
      .flatMap((job) => job.steps)
      .filter((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps)
      expect(step.with?.['role-duration-seconds']).toBe('${{ needs.plan.outputs.aws_session_seconds }}');
    const plan = parse(readFileSync(join(PROJECT_ROOT, 'actions/plan/action.yml'), 'utf8'));
    expect(Object.keys(plan.outputs)).toContain('aws_session_seconds');
  });
});
