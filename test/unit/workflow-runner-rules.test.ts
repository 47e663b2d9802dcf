import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConcurrencyGroups } from '../lab/workflow-runner/concurrency.ts';
import { tokenPermissions } from '../lab/workflow-runner/job-tokens.ts';
import { loadWorkflow, runWorkflow, type WorkflowRunOptions } from '../lab/workflow-runner/runner.ts';

const DOWNLOAD = 'actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093';
const CANARY = 'dc-credential-canary-7f3a';

function options(overrides: Partial<WorkflowRunOptions> = {}): WorkflowRunOptions {
  return {
    event: { name: 'workflow_dispatch' },
    repository: 'acme/pki',
    token: 'ghs_test',
    apiUrl: 'http://127.0.0.1:1',
    serverUrl: 'http://127.0.0.1:1',
    runners: [{ name: 'hosted', labels: ['ubuntu-latest'], capacity: 5 }],
    lab: {
      origin: '/nonexistent',
      awsCredentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      appToken: 't',
    },
    dir: mkdtempSync(join(tmpdir(), 'ottr-wr-rules-')),
    noRunnerMs: 50,
    ...overrides,
  };
}

describe('the repository default for jobs without permissions: (Settings → Actions → Workflow permissions)', () => {
  it('restricted (the default since 2023) reads contents only; permissive writes every scope but id-token', () => {
    const restricted = tokenPermissions({ '*': 'default' });
    expect(restricted).toMatchObject({ metadata: 'read', contents: 'read', 'pull-requests': 'none' });
    expect(Object.entries(restricted).filter(([, level]) => level !== 'none')).toEqual([
      ['metadata', 'read'],
      ['contents', 'read'],
    ]);
    const permissive = tokenPermissions({ '*': 'default' }, 'permissive');
    expect(permissive).toMatchObject({ contents: 'write', issues: 'write', 'id-token': 'none' });
    // A job that lists permissions never gets the default.
    expect(tokenPermissions({ issues: 'write' }, 'permissive')).toMatchObject({ contents: 'none' });
  });
});

describe('environment deployment branches', () => {
  const workflow = () =>
    loadWorkflow(
      'env.yml',
      `
name: env
on: workflow_dispatch
permissions: {}
jobs:
  rotate:
    runs-on: ubuntu-latest
    environment: pki-sfo1
    steps:
      - uses: ${DOWNLOAD}
        with:
          name: \${{ secrets.DC_KEY }}
`,
    );
  const rules = { 'pki-sfo1': { deploymentBranches: ['main', 'release/*'] } };
  const environments = { 'pki-sfo1': { DC_KEY: CANARY } };

  it('a run from main gets the environment and its secrets', async () => {
    const run = await runWorkflow(await workflow(), options({ environmentRules: rules, environments }));
    const job = run.jobs[0]!;
    // The step ran with the secret (the download of an artifact of that name fails, naming it).
    expect(job.steps).toHaveLength(1);
    expect(job.steps[0]!.message).toContain(CANARY);
  });

  it('a dispatch from another branch fails before any step, and no step ever sees the secret', async () => {
    for (const ref of ['refs/heads/evil', 'refs/heads/release/x/y', 'refs/tags/v1']) {
      const run = await runWorkflow(
        await workflow(),
        options({ environmentRules: rules, environments, ref }),
      );
      const job = run.jobs[0]!;
      expect(job.conclusion).toBe('failure');
      expect(job.steps).toEqual([]);
      expect(job.runner).toBeUndefined();
      expect(JSON.stringify(run.jobs)).not.toContain(CANARY);
      const name = ref.replace(/^refs\/(heads|tags)\//, '');
      expect(job.message).toBe(
        `${ref.startsWith('refs/tags/') ? 'Tag' : 'Branch'} "${name}" is not allowed to deploy to pki-sfo1 due to environment protection rules.`,
      );
    }
    const allowed = await runWorkflow(
      await workflow(),
      options({ environmentRules: rules, environments, ref: 'refs/heads/release/2027' }),
    );
    expect(allowed.jobs[0]!.steps).toHaveLength(1);
  });
});

describe('concurrency groups', () => {
  const workflow = (cancelInProgress = false) =>
    loadWorkflow(
      'c.yml',
      `
name: c
on: workflow_dispatch
permissions: {}
concurrency:
  group: ottr-\${{ github.workflow }}
  cancel-in-progress: ${cancelInProgress}
jobs:
  one:
    runs-on: ubuntu-latest
    steps:
      - uses: ${DOWNLOAD}
        with:
          pattern: 'none-*'
`,
    );

  it('one run at a time; a run queued behind a pending one cancels it, as GitHub does', async () => {
    const groups = new ConcurrencyGroups();
    const order: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const run = async (name: string, hold?: Promise<void>) => {
      const result = await runWorkflow(
        await workflow(),
        options({
          concurrency: groups,
          beforeJob: async () => {
            order.push(`${name} started`);
            await hold;
          },
        }),
      );
      order.push(`${name} ${result.conclusion}`);
      return result;
    };
    const first = run('first', gate);
    await new Promise((r) => setTimeout(r, 50));
    const second = run('second');
    await new Promise((r) => setTimeout(r, 50));
    const third = run('third');
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual(['first started', 'second cancelled']);
    expect((await second).message).toBe(
      "Canceling since a higher priority waiting request for 'ottr-c' exists",
    );
    open();
    await Promise.all([first, third]);
    expect(order).toEqual([
      'first started',
      'second cancelled',
      'first success',
      'third started',
      'third success',
    ]);
  });

  it('cancel-in-progress: true is refused as not modelled', async () => {
    await expect(
      runWorkflow(await workflow(true), options({ concurrency: new ConcurrencyGroups() })),
    ).rejects.toThrow(/cancel-in-progress: true is not modelled/);
  });
});

describe('timeout-minutes', () => {
  it("a job past its timeout is cancelled with GitHub's message, its script killed and no later step started", async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'ottr-wr-timeout-')), 'after');
    const workflow = await loadWorkflow(
      't.yml',
      `
name: t
on: workflow_dispatch
permissions: {}
jobs:
  slow:
    runs-on: ubuntu-latest
    timeout-minutes: 1
    steps:
      - run: sleep 30
      - run: touch ${marker}
  next:
    needs: slow
    if: always()
    runs-on: ubuntu-latest
    steps:
      - run: echo "slow was \${{ needs.slow.result }}"
`,
    );
    const started = Date.now();
    const run = await runWorkflow(workflow, options({ minuteMs: 300 }));
    expect(Date.now() - started).toBeLessThan(10_000);
    const slow = run.jobs.find((j) => j.name === 'slow')!;
    expect(slow.conclusion).toBe('cancelled');
    expect(slow.message).toBe('The job has exceeded the maximum execution time of 1m0s');
    expect(slow.steps).toHaveLength(1);
    expect(existsSync(marker)).toBe(false);
    const next = run.jobs.find((j) => j.name === 'next')!;
    expect(next.steps[0]!.log).toContain('slow was cancelled');
  });
});
