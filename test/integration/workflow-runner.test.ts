import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/cli.ts';
import { labEnvironmentRules, labRunners as labRunnersOf, labWorkflowOptions } from '../lab/cycle.ts';
import { type FullLab, LAB_OWNER, LAB_REPO, startFullLab } from '../lab/full-lab.ts';
import { emulatorJobTokens, type MintJobToken, tokenPermissions } from '../lab/workflow-runner/job-tokens.ts';
import { loadWorkflow, runWorkflow, type WorkflowRunOptions } from '../lab/workflow-runner/runner.ts';

const ROTATE_YML = join(PROJECT_ROOT, '.github/workflows/rotate.yml');
const DEVICES = 'web-sfo1-01,app-ams2-01';

let lab: FullLab;
let runs = 0;
/** Every job token the runs minted, in order: which job it was for, and the token. */
const minted: { job: string; token: string }[] = [];

beforeAll(async () => {
  lab = await startFullLab();
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

const labRunners = () => labRunnersOf(lab, 4);

function options(overrides: Partial<WorkflowRunOptions> = {}): WorkflowRunOptions {
  const inputs = { devices: DEVICES, force: 'true' };
  return {
    event: {
      name: 'workflow_dispatch',
      inputs,
      payload: { inputs, repository: { full_name: `${LAB_OWNER}/${LAB_REPO}`, default_branch: 'main' } },
    },
    ...labWorkflowOptions(lab),
    jobToken: recordedJobTokens(),
    runners: labRunners(),
    dir: mkdtempSync(join(lab.dir, `workflow-run-${++runs}-`)),
    runId: 2000 + runs,
    noRunnerMs: 200,
    ...overrides,
  };
}

function recordedJobTokens(): MintJobToken {
  const mint = emulatorJobTokens(lab.github);
  return (job, permissions) => {
    const token = mint(job, permissions);
    minted.push({ job, token });
    return token;
  };
}

const listed = (run: Awaited<ReturnType<typeof runWorkflow>>) =>
  run.jobs.map((j) => ({ job: j.job, conclusion: j.conclusion }));

/** rotate.yml with texts replaced (the first occurrence of each), as a mutated copy of the workflow. */
async function mutated(from: string, to: string, ...more: [string, string][]) {
  let text = readFileSync(ROTATE_YML, 'utf8');
  for (const [a, b] of [[from, to] as [string, string], ...more]) {
    expect(text).toContain(a);
    text = text.replace(a, b);
  }
  return loadWorkflow(ROTATE_YML, text);
}

const REPORT_PERMISSIONS =
  "    permissions:\n      contents: write\n      pull-requests: write\n      issues: write\n      statuses: write # marks the rotations branch head as the bot's own\n";

/** The rotate legs' devices, for a dispatch that rotates the faulty PAN-OS firewall alone. */
const FAULTY = 'fw-sfo1-02';
function dispatch(devices: string): Partial<WorkflowRunOptions> {
  const inputs = { devices, force: 'true' };
  return {
    event: {
      name: 'workflow_dispatch',
      inputs,
      payload: { inputs, repository: { full_name: `${LAB_OWNER}/${LAB_REPO}`, default_branch: 'main' } },
    },
  };
}

describe("a job's GITHUB_TOKEN permissions (GitHub's rules for permissions:)", () => {
  it('`{}` grants only metadata, unlisted keys become none, read-all / write-all set every key', () => {
    expect(tokenPermissions({})).toEqual({
      metadata: 'read',
      actions: 'none',
      checks: 'none',
      contents: 'none',
      deployments: 'none',
      'id-token': 'none',
      issues: 'none',
      'pull-requests': 'none',
      statuses: 'none',
    });
    expect(tokenPermissions({ contents: 'read', 'id-token': 'write' })).toMatchObject({
      contents: 'read',
      'id-token': 'write',
      issues: 'none',
    });
    expect(Object.values(tokenPermissions({ '*': 'write' })!).filter((l) => l !== 'write')).toEqual(['read']);
    expect(tokenPermissions({ '*': 'read' })).toMatchObject({ contents: 'read', 'pull-requests': 'read' });
    // No permissions: anywhere is the repository's default: read-only contents unless set to permissive.
    expect(tokenPermissions({ '*': 'default' })).toMatchObject({ contents: 'read', 'pull-requests': 'none' });
  });
});

describe('rotate.yml run by the lab workflow runner (GitHub parser and expressions, stand-in actions)', () => {
  it('lists plan, one rotate job per matrix leg and report with their conclusions; pages is skipped', async () => {
    const run = await runWorkflow(await loadWorkflow(ROTATE_YML), options());
    const failures = run.jobs.filter((j) => j.conclusion === 'failure').map((j) => `${j.name}: ${j.message}`);
    expect(failures).toEqual([]);
    const legs = run.jobs.filter((j) => j.job === 'rotate');
    expect(legs.length).toBeGreaterThanOrEqual(2);
    for (const leg of legs) {
      expect(leg.name).toMatch(/^rotate \(/);
      expect(leg.runner).toBe(`ottr-${(leg.matrix as { data_center: string }).data_center}`);
      expect(leg.environment).toBe(`pki-${(leg.matrix as { data_center: string }).data_center}`);
      expect(leg.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    }
    // In the order they finished: needs: puts plan first, report after every leg, pages last.
    expect(listed(run)).toEqual([
      { job: 'plan', conclusion: 'success' },
      ...legs.map(() => ({ job: 'rotate', conclusion: 'success' })),
      { job: 'report', conclusion: 'success' },
      { job: 'pages', conclusion: 'skipped' },
    ]);
    expect(run.conclusion).toBe('success');
    // upload-artifact names from the matrix; download-artifact pattern put each in its own folder.
    expect(run.artifacts.names()).toEqual(
      [
        'ottr-dashboard',
        'ottr-plan',
        ...legs.map((l) => `ottr-result-${(l.matrix as { id: string }).id}`),
      ].sort(),
    );
    const report = run.jobs.find((j) => j.job === 'report')!;
    const reported = report.steps.find((s) => s.uses === './actions/report')!.outputs;
    expect([reported.rotated, reported.failed, reported['pull-request-action']]).toEqual([
      '2',
      '0',
      'created',
    ]);
    // The App token step is skipped without vars.OTTR_APP_ID; its output still reads as empty.
    expect(report.steps.find((s) => s.id === 'app-token')!.conclusion).toBe('skipped');
    // So the report ran with its own GITHUB_TOKEN (github.token), limited to the report job's permissions.
    const tokens = minted.slice(-run.jobs.filter((j) => j.runner).length);
    expect(tokens.map((t) => t.job)).toEqual(['plan', ...legs.map(() => 'rotate'), 'report']);
    expect(new Set(tokens.map((t) => t.token)).size).toBe(tokens.length);
    const reportToken = tokens.find((t) => t.job === 'report')!.token;
    expect(reportToken).toMatch(/^ghs_lab_report_\d+$/);
    expect(lab.github.permissions.get(reportToken)).toMatchObject({
      metadata: 'read',
      contents: 'write',
      'pull-requests': 'write',
      issues: 'write',
      statuses: 'write',
      'id-token': 'none',
      actions: 'none',
    });
  }, 600_000);

  it('a report job without `pull-requests: write` fails on the 403, naming the permission to add', async () => {
    const workflow = await mutated('      pull-requests: write\n', '');
    const run = await runWorkflow(workflow, options());
    expect(run.conclusion).toBe('failure');
    expect(run.jobs.filter((j) => j.job === 'rotate').every((j) => j.conclusion === 'success')).toBe(true);
    const report = run.jobs.find((j) => j.job === 'report')!;
    expect(report.conclusion).toBe('failure');
    expect(report.permissions).not.toHaveProperty('pull-requests');
    const reportRun = report.steps.find((s) => s.uses === './actions/report')!;
    expect(reportRun.conclusion).toBe('failure');
    expect(`${reportRun.message}\n${reportRun.run?.stdout}`).toMatch(
      /Resource not accessible by integration/,
    );
    expect(`${reportRun.message}\n${reportRun.run?.stdout}`).toMatch(/pull-requests: write/);
  }, 600_000);

  it('a renamed job output fails the jobs that read it, naming the outputs the job declares', async () => {
    const workflow = await mutated('      has_work: ${{', '      has-work: ${{');
    const run = await runWorkflow(workflow, options());
    expect(run.conclusion).toBe('failure');
    expect(run.jobs.find((j) => j.job === 'plan')!.conclusion).toBe('success');
    const rotate = run.jobs.find((j) => j.job === 'rotate')!;
    expect(rotate.conclusion).toBe('failure');
    expect(rotate.message).toMatch(
      /needs\.plan\.outputs\.has_work is not declared \(declared: matrix, has-work,/,
    );
  }, 300_000);

  it("a renamed step output fails the plan job's outputs", async () => {
    const workflow = await mutated('steps.plan.outputs.matrix', 'steps.plan.outputs.matrices');
    const run = await runWorkflow(workflow, options());
    const plan = run.jobs.find((j) => j.job === 'plan')!;
    expect(plan.conclusion).toBe('failure');
    expect(plan.message).toMatch(/steps\.plan\.outputs\.matrices is not declared/);
  }, 300_000);

  it('a renamed `with:` input fails the step before its action runs, listing the valid inputs', async () => {
    const workflow = await mutated('          bot-login:', '          bot_login:');
    const run = await runWorkflow(workflow, options());
    const plan = run.jobs.find((j) => j.job === 'plan')!;
    expect(plan.conclusion).toBe('failure');
    expect(plan.message).toMatch(/Unexpected input\(s\) 'bot_login', valid inputs are \['root', 'devices'/);
    expect(plan.steps.find((s) => s.id === 'plan')!.run).toBeUndefined();
    expect(run.jobs.find((j) => j.job === 'rotate')!.conclusion).toBe('skipped');
  }, 300_000);

  it('a rotate job without `id-token: write` cannot assume its AWS role (a permission wire)', async () => {
    const workflow = await mutated('      id-token: write # AWS through OIDC', '      id-token: none');
    const run = await runWorkflow(workflow, options());
    const legs = run.jobs.filter((j) => j.job === 'rotate');
    expect(legs.length).toBeGreaterThan(0);
    for (const leg of legs) {
      expect(leg.conclusion).toBe('failure');
      expect(leg.message).toMatch(/configure-aws-credentials.*Unable to get ACTIONS_ID_TOKEN_REQUEST_URL/);
      expect(leg.steps.find((s) => s.uses === './actions/rotate')!.conclusion).toBe('skipped');
    }
  }, 300_000);

  it('a report without always() in its if: is skipped after a failed leg: the failure is never recorded (an if: wire)', async () => {
    lab.panos.get(FAULTY)!.faults.add('commitFail');
    try {
      const intact = await runWorkflow(await loadWorkflow(ROTATE_YML), options(dispatch(FAULTY)));
      expect(intact.jobs.find((j) => j.job === 'rotate')!.conclusion).toBe('failure');
      const report = intact.jobs.find((j) => j.job === 'report')!;
      expect(report.conclusion).toBe('success');
      expect(report.steps.find((s) => s.uses === './actions/report')!.outputs.failed).toBe('1');

      const workflow = await mutated(
        "    if: always() && needs.plan.outputs.has_work == 'true'",
        "    if: needs.plan.outputs.has_work == 'true'",
      );
      lab.panos.get(FAULTY)!.faults.add('commitFail'); // it fails the next commit only
      const run = await runWorkflow(workflow, options(dispatch(FAULTY)));
      expect(run.jobs.find((j) => j.job === 'rotate')!.conclusion).toBe('failure');
      expect(run.jobs.find((j) => j.job === 'report')!.conclusion).toBe('skipped');
    } finally {
      lab.panos.get(FAULTY)!.faults.delete('commitFail');
    }
  }, 600_000);

  it('a renamed result artifact reaches no report: it fails naming the devices that sent no result (an artifact wire)', async () => {
    const workflow = await mutated('          pattern: ottr-result-*', '          pattern: ottr-results-*');
    const run = await runWorkflow(workflow, options());
    expect(run.jobs.filter((j) => j.job === 'rotate').every((j) => j.conclusion === 'success')).toBe(true);
    const report = run.jobs.find((j) => j.job === 'report')!;
    expect(report.conclusion).toBe('failure');
    const step = report.steps.find((s) => s.uses === './actions/report')!;
    expect(step.message).toMatch(/no result files arrived from the rotate jobs/);

    // One leg's upload renamed: the others are recorded, and the report names the one that never arrived.
    const one = await mutated(
      '          name: ottr-result-${{ matrix.id }}',
      "          name: ${{ matrix.data_center == 'ams2' && 'lost' || format('ottr-result-{0}', matrix.id) }}",
    );
    const partial = await runWorkflow(one, options());
    const partialReport = partial.jobs.find((j) => j.job === 'report')!;
    expect(partialReport.conclusion).toBe('failure');
    const outputs = partialReport.steps.find((s) => s.uses === './actions/report')!;
    expect(outputs.outputs.rotated).toBe('1');
    expect(outputs.message).toMatch(/1 planned device\(s\) sent no result: app-ams2-01/);
  }, 600_000);

  it('a job without permissions: gets the repository default (read-only): the report cannot publish', async () => {
    const workflow = await mutated('permissions: {}\n', '', [REPORT_PERMISSIONS, '']);
    const run = await runWorkflow(workflow, options());
    const report = run.jobs.find((j) => j.job === 'report')!;
    expect(report.permissions).toEqual({ '*': 'default' });
    expect(report.conclusion).toBe('failure');
    expect(report.message).toMatch(/permissions: (contents|pull-requests): write/);
  }, 600_000);

  it('a dispatch from another branch gets no data-center environment: every rotate leg fails before a step', async () => {
    // The attacker's branch: anyone with write access can push one and dispatch rotate.yml on it.
    execFileSync('git', ['branch', '-f', 'attacker', 'main'], { cwd: lab.origin });
    const run = await runWorkflow(
      await loadWorkflow(ROTATE_YML),
      options({ ref: 'refs/heads/attacker', environmentRules: labEnvironmentRules(lab) }),
    );
    const legs = run.jobs.filter((j) => j.job === 'rotate');
    expect(
      legs.length,
      JSON.stringify(run.jobs.map((j) => [j.name, j.conclusion, j.message])),
    ).toBeGreaterThan(1);
    for (const leg of legs) {
      expect(leg.conclusion).toBe('failure');
      expect(leg.steps).toEqual([]);
      expect(leg.message).toBe(
        `Branch "attacker" is not allowed to deploy to ${leg.environment} due to environment protection rules.`,
      );
    }
    expect(run.jobs.find((j) => j.job === 'report')!.message).toMatch(
      /is not allowed to deploy to pki-report/,
    );
  }, 300_000);

  it('a rotate job whose runs-on labels match no runner fails after the queue time', async () => {
    const run = await runWorkflow(await loadWorkflow(ROTATE_YML), {
      ...options(),
      runners: labRunners().filter((r) => r.name !== 'ottr-ams2'),
    });
    const ams2 = run.jobs.find(
      (j) => j.job === 'rotate' && (j.matrix as { data_center: string }).data_center === 'ams2',
    )!;
    expect(ams2.conclusion).toBe('failure');
    expect(ams2.message).toMatch(/no runner with the labels \[self-hosted, ottr, ams2\] picked up the job/);
  }, 600_000);
});
