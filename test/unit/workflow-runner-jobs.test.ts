import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWorkflow, runWorkflow, type WorkflowRunOptions } from '../lab/workflow-runner/runner.ts';

const DOWNLOAD = 'actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093';

const WORKFLOW = `
name: jobs
on: workflow_dispatch
permissions: {}
jobs:
  legs:
    runs-on: ubuntu-latest
    strategy:
      max-parallel: 1
      matrix:
        n: [1, 2, 3]
    steps:
      - uses: ${DOWNLOAD}
        with:
          name: missing-\${{ matrix.n }}
  after:
    needs: legs
    runs-on: ubuntu-latest
    steps:
      - uses: ${DOWNLOAD}
  on-failure:
    needs: legs
    if: failure()
    runs-on: ubuntu-latest
    steps:
      - id: all
        uses: ${DOWNLOAD}
        with:
          pattern: 'none-*'
      - if: steps.all.outputs.download-path != ''
        uses: ${DOWNLOAD}
        with:
          name: missing
      - if: always()
        uses: ${DOWNLOAD}
      - if: success()
        uses: ${DOWNLOAD}
  elsewhere:
    runs-on: [self-hosted, nowhere]
    steps:
      - uses: ${DOWNLOAD}
`;

function options(): WorkflowRunOptions {
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
    dir: mkdtempSync(join(tmpdir(), 'ottr-wr-jobs-')),
    noRunnerMs: 50,
  };
}

describe('the runner’s job graph: needs, job and step status functions, fail-fast, max-parallel, runs-on', () => {
  it('runs the legs one at a time, cancels the rest after a failure, and honours failure()/always()', async () => {
    const run = await runWorkflow(await loadWorkflow('jobs.yml', WORKFLOW), options());
    const byName = Object.fromEntries(run.jobs.map((j) => [j.name, j]));
    expect(byName['legs (1)']!.conclusion).toBe('failure');
    expect(byName['legs (1)']!.message).toMatch(/Artifact not found for name: missing-1/);
    expect([byName['legs (2)']!.conclusion, byName['legs (3)']!.conclusion]).toEqual([
      'cancelled',
      'cancelled',
    ]);
    // A job needing a failed job is skipped by its default success(); failure() runs it.
    expect(byName.after!.conclusion).toBe('skipped');
    const onFailure = byName['on-failure']!;
    expect(onFailure.steps.map((s) => s.conclusion)).toEqual(['success', 'failure', 'success', 'skipped']);
    expect(onFailure.conclusion).toBe('failure');
    expect(byName.elsewhere!.conclusion).toBe('failure');
    expect(byName.elsewhere!.message).toMatch(/no runner with the labels \[self-hosted, nowhere\]/);
    expect(run.conclusion).toBe('failure');
  });

  it('refuses dispatch inputs the workflow does not define', async () => {
    const workflow = await loadWorkflow('jobs.yml', WORKFLOW);
    await expect(
      runWorkflow(workflow, {
        ...options(),
        event: { name: 'workflow_dispatch', inputs: { force: 'true' } },
      }),
    ).rejects.toThrow(/Unexpected inputs provided: \["force"\]/);
  });

  it('refuses a workflow GitHub’s parser refuses', async () => {
    await expect(
      loadWorkflow('bad.yml', 'on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n'),
    ).rejects.toThrow(/bad\.yml/);
  });
});
