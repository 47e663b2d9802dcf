import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from '../helpers/cli.ts';
import { git } from '../helpers/git.ts';
import { openPullRequest } from '../lab/workflow-runner/events.ts';
import { type JobRun, loadWorkflow, runWorkflow } from '../lab/workflow-runner/runner.ts';

const VALIDATE_YML = join(PROJECT_ROOT, '.github/workflows/validate.yml');
const REPOSITORY = 'acme/pki';

let dir: string;
let origin: string;
let pullRequests = 0;

/**
 * The lab origin for validate.yml: this project's own files (what `git ls-files` lists, from the working tree) on
 * `main`, because validate.yml checks a repository that holds the checker too (trusted/bin/ottr.js).
 */
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ottr-validate-'));
  origin = join(dir, 'origin.git');
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
  const seed = join(dir, 'seed');
  mkdirSync(seed);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    try {
      cpSync(join(PROJECT_ROOT, file), join(seed, file));
    } catch {
      // A file listed but deleted in the working tree is not part of the project any more.
    }
  }
  // bin/ottr.js runs the compiled CLI in dist/cli/, committed with the sources (scripts/build-cli.mjs).
  if (existsSync(join(PROJECT_ROOT, 'dist/cli')))
    cpSync(join(PROJECT_ROOT, 'dist/cli'), join(seed, 'dist/cli'), { recursive: true });
  git(seed, 'init', '--quiet', '--initial-branch=main');
  git(seed, 'add', '--all', '--force', '.');
  git(seed, 'commit', '--quiet', '-m', 'The project, as its own inventory repository');
  git(seed, 'push', '--quiet', origin, 'main');
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A branch from main with `changes` (path → content) pushed to the origin, and its pull request opened. */
function pullRequest(branch: string, changes: Record<string, string>) {
  const work = join(dir, `work-${branch}`);
  git(dir, 'clone', '--quiet', origin, work);
  git(work, 'checkout', '--quiet', '-b', branch);
  for (const [path, content] of Object.entries(changes)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), content);
  }
  git(work, 'add', '.');
  git(work, 'commit', '--quiet', '-m', `${branch}: ${Object.keys(changes).join(', ')}`);
  git(work, 'push', '--quiet', 'origin', branch);
  return openPullRequest({ origin, repository: REPOSITORY, number: ++pullRequests, head: branch });
}

async function runValidate(pr: ReturnType<typeof pullRequest>, workflowText?: string) {
  const workflow = workflowText
    ? await loadWorkflow(join(dir, 'mutated', 'validate.yml'), workflowText)
    : await loadWorkflow(VALIDATE_YML);
  const run = await runWorkflow(workflow, {
    event: pr.event,
    ref: pr.ref,
    repository: REPOSITORY,
    token: 'ghs_labValidateToken',
    apiUrl: 'http://127.0.0.1:9',
    serverUrl: 'http://127.0.0.1:9',
    runners: [{ name: 'GitHub Actions 1', labels: ['ubuntu-latest'], capacity: 2 }],
    lab: { origin, awsCredentials: { accessKeyId: 'unused', secretAccessKey: 'unused' }, appToken: 'unused' },
    dir: mkdtempSync(join(dir, 'run-')),
  });
  const job = run.jobs.find((j) => j.job === 'validate')!;
  return { run, job };
}

const sample = (file: string) => readFileSync(join(PROJECT_ROOT, file), 'utf8');

/**
 * web-sfo1-01's file as a new device `name`, common name `<name>.sfo1.example.com` and `san` as its SAN (a new
 * address; the rest as the sample has it).
 */
function newDevice(name: string, san: string) {
  return sample('inventory/sfo1/web-sfo1-01.yaml')
    .replace('system_name: web-sfo1-01', `system_name: ${name}`)
    .replace('common_name: status.example.com', `common_name: ${name}.sfo1.example.com`)
    .replace('  - status-sfo1.example.com', `  - ${san}`)
    .replace(/192\.0\.2\.190/g, '192.0.2.191');
}

/** The names of validate.yml's steps, in order (a job's step runs are in the same order). */
let stepNames: (string | undefined)[] = [];
beforeAll(async () => {
  stepNames = (await loadWorkflow(VALIDATE_YML)).jobs[0]!.steps.map((s) => s.name);
});

const stepNamed = (job: JobRun, name: string) => {
  expect(stepNames, `validate.yml has a step named ${name}`).toContain(name);
  return job.steps[stepNames.indexOf(name)]!;
};

const BAD_SAN_LINE = (() => {
  const lines = newDevice('web-sfo1-09', 'bad_name..example.com').split('\n');
  return lines.findIndex((l) => l.includes('bad_name..example.com')) + 1;
})();

describe('validate.yml run by the lab workflow runner on pull requests', () => {
  it('a new device with a bad SAN: the job fails, annotated on the line, with the plan and the CNAME section', async () => {
    const pr = pullRequest('add-web-sfo1-09', {
      'inventory/sfo1/web-sfo1-09.yaml': newDevice('web-sfo1-09', 'bad_name..example.com'),
    });
    const { run, job } = await runValidate(pr);
    expect(run.conclusion).toBe('failure');
    expect(job.conclusion).toBe('failure');
    // pr/ is the merge commit GitHub made (refs/pull/<n>/merge); trusted/ is the base branch's commit.
    expect(stepNamed(job, "The pull request's files, as data").outputs).toEqual({
      ref: pr.ref,
      commit: pr.sha,
    });
    const base = (pr.event.payload.pull_request as { base: { sha: string } }).base.sha;
    expect(stepNamed(job, 'The checker, from the base branch').outputs).toEqual({ ref: '', commit: base });
    expect(stepNamed(job, 'What the pull request changes').outputs).toEqual({ relevant: 'true' });
    const validate = stepNamed(job, 'Validate (annotations on the lines)');
    expect(validate.conclusion).toBe('failure');
    expect(job.message).toMatch(
      /Validate \(annotations on the lines\): .*Process completed with exit code 1\./,
    );
    // The finding, as the check run shows it: on the new file's SAN line.
    const errors = job.annotations!.filter((a) => a.level === 'error');
    expect(errors.filter((a) => !a.file)).toEqual([
      {
        level: 'error',
        message: 'Process completed with exit code 1.',
        step: 'Validate (annotations on the lines)',
      },
    ]);
    expect(errors.filter((a) => a.file)).toEqual([
      expect.objectContaining({
        file: 'inventory/sfo1/web-sfo1-09.yaml',
        line: BAD_SAN_LINE,
        col: 5,
        title: 'subject_alternative_names[0]',
        step: 'Validate (annotations on the lines)',
      }),
    ]);
    expect(errors[0]!.message).toMatch(/"bad_name\.\.example\.com" label "bad_name"/);
    // The always() steps still ran: the hardening rules pass, the plan preview skips the device.
    expect(stepNamed(job, 'Workflow hardening rules').conclusion).toBe('success');
    expect(stepNamed(job, 'Plan preview').conclusion).toBe('success');
    expect(job.annotations).toContainEqual(
      expect.objectContaining({
        level: 'warning',
        file: 'inventory/sfo1/web-sfo1-09.yaml',
        step: 'Plan preview',
      }),
    );
    expect(job.summary).toContain('## Ottr plan');
    expect(job.summary).toMatch(/\| `web-sfo1-09` \| invalid \| inventory\/sfo1\/web-sfo1-09\.yaml \|/);
    expect(job.summary).toContain('### _acme-challenge CNAMEs for the new devices');
    // An invalid device gets no CNAME: dns-records leaves it out.
    expect(job.summary).toContain('_acme-challenge CNAMEs for 0 device(s)');
    // The checker came from the base branch, installed by the lab's npm from the project's lock file.
    const install = job.steps.find((s) => s.log?.some((l) => l.startsWith('lab npm: package-lock.json')));
    expect(install?.conclusion).toBe('success');
  }, 180_000);

  it('a new valid device: success, its _acme-challenge CNAMEs in the summary', async () => {
    const pr = pullRequest('add-web-sfo1-08', {
      'inventory/sfo1/web-sfo1-08.yaml': newDevice('web-sfo1-08', 'web08-alt.sfo1.example.com'),
    });
    const { run, job } = await runValidate(pr);
    expect(job.message, JSON.stringify(job.annotations)).toBeUndefined();
    expect(run.conclusion).toBe('success');
    expect(job.annotations!.filter((a) => a.level === 'error')).toEqual([]);
    expect(job.summary).toContain('## Ottr plan');
    expect(job.summary).toContain('`web-sfo1-08`');
    expect(job.summary).toContain('### _acme-challenge CNAMEs for the new devices');
    expect(job.summary).toContain('_acme-challenge CNAMEs for 1 device(s)');
    expect(job.summary).toMatch(/^_acme-challenge\.web-sfo1-08\.sfo1\.example\.com\.\s.*CNAME\s/m);
    expect(job.summary).toMatch(/^_acme-challenge\.web08-alt\.sfo1\.example\.com\.\s.*CNAME\s/m);
  }, 180_000);

  it('a pull request touching only README.md: success at once, the checks skipped, "nothing to check"', async () => {
    // GitHub starts the workflow for this pull request: its pull_request trigger filters no paths or branches.
    const on = (parseYaml(readFileSync(VALIDATE_YML, 'utf8')) as { on: { pull_request: unknown } }).on;
    expect(on.pull_request ?? {}).not.toHaveProperty('paths');
    expect(on.pull_request ?? {}).not.toHaveProperty('paths-ignore');
    expect(on.pull_request ?? {}).not.toHaveProperty('branches');
    const pr = pullRequest('readme-only', { 'README.md': `${sample('README.md')}\nA line.\n` });
    const { run, job } = await runValidate(pr);
    expect(run.conclusion).toBe('success');
    expect(job.conclusion).toBe('success');
    expect(stepNamed(job, 'What the pull request changes').outputs).toEqual({ relevant: 'false' });
    const checks = job.steps.slice(2);
    expect(checks.length).toBe(7);
    expect(checks.map((s) => s.conclusion)).toEqual(checks.map(() => 'skipped'));
    expect(job.summary).toMatch(/nothing to check/);
    expect(job.annotations).toEqual([]);
  }, 120_000);

  it("a mutated `if:` gate on the validate step (relevant == 'yes') lets the bad-SAN pull request pass", async () => {
    const pr = pullRequest('add-web-sfo1-07', {
      'inventory/sfo1/web-sfo1-07.yaml': newDevice('web-sfo1-07', 'bad_name..example.com'),
    });
    const text = readFileSync(VALIDATE_YML, 'utf8');
    const gate =
      "      - name: Validate (annotations on the lines)\n        if: steps.changes.outputs.relevant == 'true'\n";
    expect(text).toContain(gate);
    const mutated = text.replace(gate, gate.replace("== 'true'", "== 'yes'"));
    mkdirSync(join(dir, 'mutated'), { recursive: true });
    writeFileSync(join(dir, 'mutated', 'validate.yml'), mutated);
    const { run, job } = await runValidate(pr, readFileSync(join(dir, 'mutated', 'validate.yml'), 'utf8'));
    expect(run.conclusion).toBe('success');
    expect(stepNamed(job, 'Validate (annotations on the lines)').conclusion).toBe('skipped');
    expect(job.annotations!.filter((a) => a.level === 'error')).toEqual([]);
    // The same pull request fails with the workflow as committed.
    const real = await runValidate(pr);
    expect(real.job.conclusion).toBe('failure');
    expect(real.job.annotations!.filter((a) => a.level === 'error' && a.file)).toHaveLength(1);
  }, 180_000);
});
