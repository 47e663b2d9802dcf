import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { workflowPolicyProblems } from '../../src/gitops/workflow-policy.ts';
import { PROJECT_ROOT, runCli } from '../helpers/cli.ts';

const WORKFLOWS = join(PROJECT_ROOT, '.github/workflows');
const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith('.yml'));

/** GitHub's own workflow parser (the schema the Actions service validates with). */
function parserErrors(name: string, content: string): string[] {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  return result.context.errors.getErrors().map((e) => e.message);
}

describe('the project workflows', () => {
  it('are validate.yml, rotate.yml, sync.yml and ci.yml', () => {
    expect(files.sort()).toEqual(['ci.yml', 'rotate.yml', 'sync.yml', 'validate.yml']);
  });

  for (const file of files) {
    it(`${file} passes GitHub's workflow parser and the hardening rules`, () => {
      const text = readFileSync(join(WORKFLOWS, file), 'utf8');
      expect(parserErrors(file, text)).toEqual([]);
      expect(workflowPolicyProblems(`.github/workflows/${file}`, text)).toEqual([]);
    });
  }

  it('rotate.yml: schedule off the hour, dispatch inputs, guarded matrix in one environment per data center, report always', () => {
    const wf = parse(readFileSync(join(WORKFLOWS, 'rotate.yml'), 'utf8'));
    const [minute] = wf.on.schedule[0].cron.split(' ');
    expect(Number(minute)).not.toBe(0);
    expect(Object.keys(wf.on.workflow_dispatch.inputs).sort()).toEqual([
      'devices',
      'dry_run',
      'force',
      'staging',
    ]);
    expect(wf.permissions).toEqual({});
    expect(wf.concurrency['cancel-in-progress']).toBe(false);
    const { plan, rotate, report } = wf.jobs;
    expect(plan.permissions).toEqual({ contents: 'read', statuses: 'read' });
    expect(rotate).toMatchObject({
      needs: 'plan',
      if: "needs.plan.outputs.has_work == 'true'",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template literal
      'runs-on': '${{ matrix.runs_on }}',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template literal
      environment: '${{ matrix.environment }}',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template literal
      strategy: { 'fail-fast': false, 'max-parallel': '${{ fromJSON(needs.plan.outputs.max_parallel) }}' },
      permissions: { contents: 'read', 'id-token': 'write' },
    });
    expect(rotate['timeout-minutes']).toMatch(/timeout_minutes/);
    const aws = rotate.steps.find((s: { uses?: string }) => s.uses?.startsWith('aws-actions/'));
    expect(aws.with['role-to-assume']).toBeDefined();
    expect(report.if).toMatch(/^always\(\)/);
    expect(report.environment).toBe('pki-report');
    expect(
      report.steps.some((s: { uses?: string }) => s.uses?.startsWith('actions/download-artifact@')),
    ).toBe(true);
  });

  it('sync.yml: weekly off the hour and on dispatch, AWS through OIDC, the sync action on the onboarding branch', () => {
    const text = readFileSync(join(WORKFLOWS, 'sync.yml'), 'utf8');
    const wf = parse(text);
    const [minute, , , , weekday] = wf.on.schedule[0].cron.split(' ');
    expect(Number(minute)).not.toBe(0);
    expect(weekday).not.toBe('*');
    expect(wf.on.workflow_dispatch).toBeDefined();
    expect(wf.on.pull_request_target).toBeUndefined();
    expect(wf.permissions).toEqual({});
    const { sync } = wf.jobs;
    expect(sync.permissions).toEqual({
      contents: 'write',
      'pull-requests': 'write',
      issues: 'write',
      'id-token': 'write',
    });
    const rotate = readFileSync(join(WORKFLOWS, 'rotate.yml'), 'utf8');
    const thirdParty = sync.steps
      .map((s: { uses?: string }) => s.uses)
      .filter((u: string | undefined) => u && !u.startsWith('./'));
    for (const uses of thirdParty) {
      expect(uses).toMatch(/@[0-9a-f]{40}$/);
      expect(rotate).toContain(uses);
    }
    const aws = sync.steps.find((s: { uses?: string }) => s.uses?.startsWith('aws-actions/'));
    expect(aws.with['role-to-assume']).toBeDefined();
    const step = sync.steps.find((s: { uses?: string }) => s.uses === './actions/sync');
    expect(step.with.source).toBe('aws-ssm');
    expect(step.with.branch ?? 'ottr/onboarding').toBe('ottr/onboarding');
    expect(sync.steps.every((s: { run?: string }) => !s.run?.includes('${{'))).toBe(true);
  });

  it('validate.yml: every pull_request (no path filter); read-only; no secrets', () => {
    const text = readFileSync(join(WORKFLOWS, 'validate.yml'), 'utf8');
    const wf = parse(text);
    expect(wf.on).toHaveProperty('pull_request');
    expect(wf.on.pull_request?.paths).toBeUndefined();
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect(wf.jobs.validate['runs-on']).toBe('ubuntu-latest');
    expect(text).not.toMatch(/\$\{\{[^}]*secrets/);
    // The checker runs from the base branch's checkout; the pull request's files are only data.
    expect(text).toMatch(/node \.\.\/trusted\/bin\/ottr\.js validate --format github/);
    const steps = wf.jobs.validate.steps as { uses?: string; with?: Record<string, unknown>; run?: string }[];
    const checkouts = steps.filter((s) => s.uses?.startsWith('actions/checkout@'));
    expect(checkouts.map((c) => c.with?.path).sort()).toEqual(['pr', 'trusted']);
    expect(checkouts.find((c) => c.with?.path === 'trusted')!.with).toMatchObject({
      ref: expression('github.event.pull_request.base.sha'),
      'persist-credentials': false,
    });
    expect(checkouts.find((c) => c.with?.path === 'pr')!.with).toMatchObject({
      'persist-credentials': false,
    });
    for (const step of steps.filter((s) => s.run?.includes('ottr'))) expect(step.run).not.toMatch(/npx ottr/);
  });
});

/** A GitHub expression as written in a workflow: ${{ text }}. */
function expression(text: string): string {
  return ['$', '{{ ', text, ' }}'].join('');
}

describe('a deliberately bad workflow', () => {
  const text = readFileSync(join(PROJECT_ROOT, 'test/fixtures/workflows/bad.yml'), 'utf8');

  it('trips every hardening rule, each at its line', () => {
    const found = workflowPolicyProblems('bad.yml', text).map((p) => `${p.line} ${p.field}: ${p.message}`);
    expect(found).toEqual([
      '2 concurrency: a rotating workflow needs concurrency, so two runs never rotate at once',
      '4 on.pull_request_target: pull_request_target runs with secrets on code from forks; use pull_request',
      '5 permissions: top-level permissions grant write access; grant it only to the jobs that need it',
      `8 jobs.rotate.environment: the rotating job must run in its matrix entry's environment (environment: ${expression('matrix.environment')}), one per data center`,
      '10 jobs.rotate.steps[0].uses: actions/checkout@v4 is not pinned to a full commit SHA (owner/repo@<40 hex> # vX.Y.Z)',
      '14 jobs.rotate.steps[2].run: an expression inside run: is pasted into the script; pass the value through env:',
      '17 secrets: toJSON(secrets) hands every secret of the environment to the step; pass only the secrets it needs (secrets[matrix.secrets[0]], …)',
    ]);
  });

  it('is still a valid workflow for GitHub (the rules go beyond the schema)', () => {
    expect(parserErrors('bad.yml', text)).toEqual([]);
  });

  it('ottr check-workflows reports it with exit 1, and GitHub annotations on request', async () => {
    const run = await runCli(['check-workflows', '--dir', 'test/fixtures/workflows', '--format', 'github']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '::error file=test/fixtures/workflows/bad.yml,line=10,col=15,title=jobs.rotate.steps[0].uses::',
    );
    expect((await runCli(['check-workflows'])).stdout).toMatch(
      /^ok: 4 workflow\(s\) keep the hardening rules$/m,
    );
  });
});
