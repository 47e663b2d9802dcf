import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../helpers/cli.ts';
import { git } from '../helpers/git.ts';
import { labRunners, labWorkflowOptions } from '../lab/cycle.ts';
import { Ec2Emulator } from '../lab/ec2/emulator.ts';
import { type FullLab, LAB_OWNER, LAB_REPO, startFullLab } from '../lab/full-lab.ts';
import { emulatorJobTokens } from '../lab/workflow-runner/job-tokens.ts';
import { loadWorkflow, runWorkflow, type WorkflowRunOptions } from '../lab/workflow-runner/runner.ts';

/** sync.yml, read and run by the lab's workflow runner against the lab's GitHub, SSM and EC2. */
const SYNC_YML = join(PROJECT_ROOT, '.github/workflows/sync.yml');
const NEW_INSTANCE = 'i-0c0ffee0c0ffee001';

let lab: FullLab;
let ec2: Ec2Emulator;
let runs = 0;

beforeAll(async () => {
  lab = await startFullLab();
  ec2 = new Ec2Emulator(lab.ssm.instances);
  await ec2.start();
  lab.ssm.instances.push({
    id: NEW_INSTANCE,
    tags: {
      Name: 'app-ams2-05',
      'ottr:common_name': 'app5.ams2.example.com',
      'ottr:data_center': 'ams2',
      'ottr:certificate_authority': 'lets_encrypt',
      'ottr:owner': 'app-team@example.com',
    },
    online: true,
    dir: lab.dir,
    platformVersion: '2023',
  });
}, 120_000);
afterAll(async () => {
  await ec2?.stop();
  await lab?.stop();
});

function options(overrides: Partial<WorkflowRunOptions> = {}): WorkflowRunOptions {
  // The sync job runs on GitHub-hosted ubuntu-latest; its AWS SDK calls reach the lab's SSM and EC2.
  const runners = labRunners(lab, 2).map((r) => ({
    ...r,
    env: { ...r.env, AWS_ENDPOINT_URL_EC2: ec2.endpoint },
  }));
  return {
    event: { name: 'schedule', payload: { schedule: '43 6 * * 1', workflow: '.github/workflows/sync.yml' } },
    ...labWorkflowOptions(lab),
    jobToken: emulatorJobTokens(lab.github),
    runners,
    dir: mkdtempSync(join(lab.dir, `sync-run-${++runs}-`)),
    runId: 3000 + runs,
    noRunnerMs: 200,
    ...overrides,
  };
}

async function mutated(from: string, to: string) {
  const text = readFileSync(SYNC_YML, 'utf8');
  expect(text).toContain(from);
  return loadWorkflow(SYNC_YML, text.replace(from, to));
}

describe('sync.yml run by the lab workflow runner', () => {
  it('a scheduled run opens the onboarding pull request with its labels, on a branch holding the new device', async () => {
    const run = await runWorkflow(await loadWorkflow(SYNC_YML), options());
    const job = run.jobs.find((j) => j.job === 'sync')!;
    expect(job.conclusion, job.message).toBe('success');
    expect(job.environment).toBe('pki-sync');
    const sync = job.steps.find((s) => s.uses === './actions/sync')!;
    expect(sync.outputs.new).toBe('1');
    expect(sync.outputs['pull-request-action']).toBe('created');
    const pull = lab.github.pulls.find((p) => p.head === 'ottr/onboarding')!;
    expect(pull).toBeDefined();
    expect(pull.base).toBe('main');
    expect([...pull.labels].sort()).toEqual(['onboarding', 'ottr']);
    // The proposed file is on the pushed branch (pushed with the job's own token, through the emulator).
    const file = parse(git(lab.origin, 'show', 'ottr/onboarding:inventory/ams2/app-ams2-05.yaml'));
    expect(file).toMatchObject({
      system_name: 'app-ams2-05',
      common_name: 'app5.ams2.example.com',
      connection: { instance_id: NEW_INSTANCE },
    });
    // The job's token had the sync job's permissions, and nothing else.
    const grants = [...lab.github.permissions.entries()].filter(([t]) => t.startsWith('ghs_lab_sync_'));
    expect(grants).toHaveLength(1);
    expect(grants[0]![1]).toMatchObject({
      contents: 'write',
      'pull-requests': 'write',
      issues: 'write',
      'id-token': 'write',
      statuses: 'none',
    });
  }, 300_000);

  it('dry_run (a boolean dispatch input) summarises only: no branch is pushed again, no pull request changes', async () => {
    const before = git(lab.origin, 'rev-parse', 'ottr/onboarding').trim();
    const pulls = lab.github.pulls.length;
    const inputs = { dry_run: 'true' };
    const run = await runWorkflow(
      await loadWorkflow(SYNC_YML),
      options({
        event: {
          name: 'workflow_dispatch',
          inputs,
          payload: { inputs, repository: { full_name: `${LAB_OWNER}/${LAB_REPO}`, default_branch: 'main' } },
        },
      }),
    );
    const job = run.jobs.find((j) => j.job === 'sync')!;
    expect(job.conclusion, job.message).toBe('success');
    expect(job.steps.find((s) => s.uses === './actions/sync')!.outputs['pull-request-action']).toBe('none');
    expect(git(lab.origin, 'rev-parse', 'ottr/onboarding').trim()).toBe(before);
    expect(lab.github.pulls.length).toBe(pulls);
  }, 300_000);

  it('without `id-token: write` the job cannot assume its discovery role (a permission wire)', async () => {
    const run = await runWorkflow(
      await mutated('      id-token: write # AWS through OIDC', '      id-token: none'),
      options(),
    );
    const job = run.jobs.find((j) => j.job === 'sync')!;
    expect(job.conclusion).toBe('failure');
    expect(job.message).toMatch(/configure-aws-credentials.*Unable to get ACTIONS_ID_TOKEN_REQUEST_URL/);
    expect(job.steps.find((s) => s.uses === './actions/sync')!.conclusion).toBe('skipped');
  }, 300_000);

  it('without `pull-requests: write` the branch is pushed but the pull request is refused, naming the permission', async () => {
    const run = await runWorkflow(await mutated('      pull-requests: write\n', ''), options());
    const job = run.jobs.find((j) => j.job === 'sync')!;
    expect(job.conclusion).toBe('failure');
    const sync = job.steps.find((s) => s.uses === './actions/sync')!;
    expect(`${sync.message}\n${sync.run?.stdout}`).toMatch(/pull-requests: write/);
  }, 300_000);

  it('a run from another branch never enters pki-sync', async () => {
    const run = await runWorkflow(await loadWorkflow(SYNC_YML), options({ ref: 'refs/heads/topic' }));
    const job = run.jobs.find((j) => j.job === 'sync')!;
    expect(job.conclusion).toBe('failure');
    expect(job.steps).toEqual([]);
    expect(job.message).toBe(
      'Branch "topic" is not allowed to deploy to pki-sync due to environment protection rules.',
    );
  }, 120_000);
});
