import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyCertificate } from '../../src/gitops/apply-results.ts';
import type { RotationResult } from '../../src/model/results.ts';
import { runActionBundle } from '../helpers/action.ts';
import { git, sampleRemote } from '../helpers/git.ts';
import { rotatedResult, selfSignedPem, TestCa } from '../helpers/test-ca.ts';
import { GitHubEmulator } from '../lab/github/emulator.ts';
import { EventReceiver } from '../lab/github/event-receiver.ts';
import { SlackReceiver, unreachableWebhookUrl } from '../lab/github/receiver.ts';

const TOKEN = 'ghs_labTokenThatMustNeverBePrinted0001';
const COLLEAGUE = 'ghp_aColleagueWhoCanPushToTheBranch001';
const FW_NAMES = ['fw-sfo1-01.mgmt.example.com', 'vpn-sfo1.example.com'];
const LB_NAMES = ['lb-sfo1-01.mgmt.example.com', 'www.example.com', 'api.example.com'];
const failed: RotationResult = {
  schema: 'ottr.result/v1',
  system_name: 'lb-sfo1-01',
  status: 'rolled_back',
  phases: [{ name: 'install', ms: 900 }],
  error: { phase: 'install', class: 'activate_failed', message: 'F5 httpd update: refused (HTTP 400)' },
  rollback: { restored: true, message: 'the previous certificate is served again' },
};

let dir: string;
let checkout: string;
let bare: string;
let github: GitHubEmulator;
let slack: SlackReceiver;
let ca: TestCa;
let rotated: RotationResult;
let runs = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ottr-report-'));
  bare = sampleRemote(dir);
  checkout = join(dir, 'checkout');
  git(dir, 'clone', '--quiet', bare, checkout);
  // The authority's roots_file names the test CA's root, as it names Let's Encrypt's in the sample.
  ca = await TestCa.create();
  writeFileSync(join(checkout, 'routing/roots/lets-encrypt.pem'), ca.rootPem);
  git(checkout, 'commit', '--quiet', '-am', 'roots: the test CA');
  git(checkout, 'push', '--quiet', 'origin', 'main');
  rotated = rotatedResult('fw-sfo1-01', (await ca.issue(FW_NAMES)).pem);
  github = new GitHubEmulator();
  github.tokens.add(TOKEN).add(COLLEAGUE);
  github.logins.set(COLLEAGUE, 'colleague');
  await github.start();
  github.addRepo('acme', 'pki', { gitDir: bare });
  slack = new SlackReceiver();
  await slack.start();
});
afterAll(async () => {
  await github?.stop();
  await slack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * One run's downloads: the plan (one job per device, id = system_name) and, per job, its artifact folder
 * `ottr-result-<id>/` with the results that job wrote. `jobs` maps a job id to the results in its artifact.
 */
function writeRun(jobs: Record<string, RotationResult[]>, devices = Object.keys(jobs)): string {
  const folder = join(dir, `run-${++runs}`);
  mkdirSync(join(folder, 'results'), { recursive: true });
  for (const [id, results] of Object.entries(jobs))
    for (const r of results) {
      mkdirSync(join(folder, 'results', `ottr-result-${id}`), { recursive: true });
      writeFileSync(join(folder, 'results', `ottr-result-${id}`, `${r.system_name}.json`), JSON.stringify(r));
    }
  const plan = {
    version: 1,
    now: new Date(Date.now() - 15 * 60_000).toISOString(),
    matrix: {
      include: devices.map((id) => ({
        id,
        devices: [id],
        data_center: 'sfo1',
        runs_on: ['self-hosted'],
        environment: 'pki-sfo1',
        secrets: [],
      })),
    },
  };
  writeFileSync(join(folder, 'plan.json'), JSON.stringify(plan));
  return folder;
}
const own = (...results: RotationResult[]) => Object.fromEntries(results.map((r) => [r.system_name, [r]]));

const runReport = (
  run: string,
  webhook: string,
  extra: { inputs?: Record<string, string>; env?: NodeJS.ProcessEnv } = {},
) =>
  runActionBundle(
    'report',
    {
      root: checkout,
      'results-dir': join(run, 'results'),
      'plan-file': join(run, 'plan.json'),
      'github-token': TOKEN,
      labels: 'automated',
      ...extra.inputs,
    },
    {
      GITHUB_API_URL: github.url,
      GITHUB_WORKSPACE: checkout,
      OTTR_SECRET_NAMES: JSON.stringify(['SLACK_WEBHOOK_URL']),
      OTTR_SECRET_1: webhook,
      ...extra.env,
    },
    { repository: { default_branch: 'main' } },
  );

const onBranch = (file: string) => parse(git(bare, 'show', `ottr/rotations:${file}`)).certificate;
const onMain = (file: string) => parse(git(bare, 'show', `main:${file}`)).certificate;
const LB_FILE = 'inventory/sfo1/lb-sfo1-01.yaml';
const FW_FILE = 'inventory/sfo1/fw-sfo1-01.yaml';

describe('actions/report run as the runner runs it', () => {
  it('records the rotation in a pull request, opens the failing device’s issue and tells Slack', async () => {
    const run = await runReport(writeRun(own(rotated, failed)), slack.url);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({
      rotated: '1',
      failed: '1',
      refused: '0',
      'pull-request-action': 'created',
    });
    const pull = github.pulls.find((p) => p.number === Number(run.outputs['pull-request-number']));
    expect(pull).toMatchObject({ head: 'ottr/rotations', state: 'open' });
    expect([...pull!.labels].sort()).toEqual(['automated', 'certificates', 'ottr']);
    const certificate = onBranch(FW_FILE);
    expect(certificate.not_after).toBe(rotated.certificate!.not_after);
    expect(certificate.serial).toBe(rotated.certificate!.serial);
    expect(JSON.stringify(certificate)).not.toContain('BEGIN CERTIFICATE');
    const issue = github.issues.find((i) => i.title.includes('lb-sfo1-01'));
    expect(issue?.state).toBe('open');
    expect(slack.received).toHaveLength(1);
    expect(JSON.stringify(slack.received[0]!.body)).toContain('lb-sfo1-01');
    expect(run.summary).toMatch(/\*\*Pull request:\*\* \[#\d+\]/);
    // The fleet dashboard for the artifact already counts this run's certificate.
    expect(run.outputs.dashboard).toBe(join(checkout, 'ottr-dashboard/index.html'));
    const dashboard = readFileSync(run.outputs.dashboard!, 'utf8');
    expect(dashboard).toContain('fw-sfo1-01');
    expect(dashboard).toContain(rotated.certificate!.not_after.slice(0, 10));
    // The token is masked for the log and printed nowhere.
    expect(run.stdout).toContain(`::add-mask::${TOKEN}`);
    expect(run.stdout.replace(`::add-mask::${TOKEN}`, '')).not.toContain(TOKEN);
    expect(run.summary).not.toContain(TOKEN);
  }, 60_000);

  it('marks the pushed head as recorded by the bot: the ottr/rotations status the plan looks for', () => {
    const head = git(bare, 'rev-parse', 'ottr/rotations').trim();
    expect(github.statuses.filter((s) => s.sha === head)).toEqual([
      expect.objectContaining({
        context: 'ottr/rotations',
        state: 'success',
        creator: 'github-actions[bot]',
        description: 'recorded by the report of run 4242',
      }),
    ]);
  });

  it('the same results again change nothing, and the repeat failure is a comment on the open issue', async () => {
    const run = await runReport(writeRun(own(rotated, failed)), slack.url);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs['pull-request-action']).toBe('unchanged');
    expect(github.pulls.filter((p) => p.state === 'open')).toHaveLength(1);
    const issue = github.issues.find((i) => i.title.includes('lb-sfo1-01'))!;
    expect(github.comments.filter((c) => c.issue_number === issue.number)).toHaveLength(1);
  }, 60_000);

  it('a device removed from the inventory since the plan is skipped with a note', async () => {
    const gone: RotationResult = { ...rotated, system_name: 'fw-decommissioned-01' };
    const run = await runReport(writeRun(own(rotated, gone)), slack.url);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(
      '::notice::fw-decommissioned-01 is no longer in the inventory; its result is skipped',
    );
    expect(run.summary).toContain('fw-decommissioned-01: no longer in the inventory');
    expect(git(bare, 'ls-tree', '-r', '--name-only', 'ottr/rotations')).not.toContain('fw-decommissioned-01');
  }, 60_000);

  it('a Slack webhook that is down is a warning, never a failed run', async () => {
    const run = await runReport(writeRun(own(failed)), await unreachableWebhookUrl());
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^::warning::Slack: the Slack webhook could not be reached/m);
  }, 60_000);

  it('sends the follow-on events settings ask for: repository_dispatch and a signed webhook', async () => {
    const receiver = new EventReceiver('signing-key-from-the-pki-environment');
    await receiver.start();
    const settingsFile = join(checkout, 'routing/settings.yaml');
    const original = readFileSync(settingsFile, 'utf8');
    const withEvents = original
      .replace(
        /^events:\n(?: .*\n)*/m,
        'events:\n  repository_dispatch: true\n  webhook_url_secret: EVENTS_URL\n  webhook_signing_secret: EVENTS_KEY\n',
      )
      .replace(
        /^secrets:\n/m,
        'secrets:\n  EVENTS_URL: { purpose: events }\n  EVENTS_KEY: { purpose: events }\n',
      );
    expect(withEvents).not.toBe(original);
    writeFileSync(settingsFile, withEvents);
    try {
      const run = await runReport(writeRun(own(rotated)), slack.url, {
        inputs: { labels: '' },
        env: {
          OTTR_SECRET_NAMES: JSON.stringify(['EVENTS_URL', 'EVENTS_KEY']),
          OTTR_SECRET_1: receiver.url,
          OTTR_SECRET_2: 'signing-key-from-the-pki-environment',
        },
      });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(github.dispatches.at(-1)).toMatchObject({
        event_type: 'ottr-certificate-rotated',
        client_payload: { system_name: 'fw-sfo1-01', serial: rotated.certificate!.serial },
      });
      expect(receiver.received.map((r) => r.signatureValid)).toEqual([true]);
      expect(run.summary).toMatch(/\*\*Events:\*\* 1 repository_dispatch, 1 webhook deliveries/);
    } finally {
      writeFileSync(settingsFile, original);
      await receiver.stop();
    }
  }, 60_000);

  it('fails clearly when no result file arrived', async () => {
    const run = await runReport(join(dir, 'nothing-here'), slack.url);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('::error::no result files arrived from the rotate jobs');
  }, 60_000);
});

describe('actions/report against a compromised rotate runner', () => {
  const refusedRun = async (jobs: Record<string, RotationResult[]>, devices?: string[]) => {
    const lbBefore = onBranch(LB_FILE);
    const fwBefore = onBranch(FW_FILE);
    const run = await runReport(writeRun(jobs, devices), slack.url);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^::error::1 result file\(s\) refused: nothing of them was recorded/m);
    expect(run.outputs.refused).toBe('1');
    // Nothing of the refused result reached the record.
    expect(onBranch(LB_FILE)).toEqual(lbBefore);
    expect(onBranch(FW_FILE)).toEqual(fwBefore);
    return run;
  };

  it("a forged result for another job's device in job X's artifact is refused; the inventory is untouched", async () => {
    // fw-sfo1-01's runner writes a result for lb-sfo1-01 (a real, fresh certificate even) into its own artifact.
    const forged = rotatedResult('lb-sfo1-01', (await ca.issue(LB_NAMES)).pem);
    const run = await refusedRun({ 'fw-sfo1-01': [forged] }, ['fw-sfo1-01', 'lb-sfo1-01']);
    expect(run.stdout).toMatch(
      /^::warning::ottr-result-fw-sfo1-01\/lb-sfo1-01\.json: the result for lb-sfo1-01 is refused: the job fw-sfo1-01 was not given lb-sfo1-01/m,
    );
    expect(run.summary).toContain('**Refused results**');
    expect(onBranch(LB_FILE)).toEqual(onMain(LB_FILE));
  }, 60_000);

  it('a result whose JSON says not_after 2099 while its certificate says otherwise is refused', async () => {
    const lying = rotatedResult('lb-sfo1-01', (await ca.issue(LB_NAMES)).pem);
    lying.certificate!.not_after = '2099-01-01T00:00:00Z';
    const run = await refusedRun(own(lying));
    expect(run.stdout).toContain('the result says not_after 2099-01-01T00:00:00Z, the certificate');
  }, 60_000);

  it('a self-signed certificate is refused', async () => {
    const run = await refusedRun(own(rotatedResult('lb-sfo1-01', await selfSignedPem(LB_NAMES))));
    expect(run.stdout).toContain("certificate.pem's chain does not lead to a root of the authority");
  }, 60_000);

  it('an old certificate of the right CA (a replay) is refused', async () => {
    const old = await ca.issue(LB_NAMES, { notBefore: new Date(Date.now() - 30 * 24 * 3_600_000) });
    const run = await refusedRun(own(rotatedResult('lb-sfo1-01', old.pem)));
    expect(run.stdout).toContain('the certificate was issued before this run');
  }, 60_000);

  it('without the plan file nothing is recorded', async () => {
    const folder = writeRun(own(rotatedResult('lb-sfo1-01', (await ca.issue(LB_NAMES)).pem)));
    rmSync(join(folder, 'plan.json'));
    const run = await runReport(folder, slack.url);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('is missing (download the ottr-plan artifact into the report job)');
    expect(onBranch(LB_FILE)).toEqual(onMain(LB_FILE));
  }, 60_000);

  it('a plan file that is not the one the plan job wrote (its plan_sha256) is refused whole', async () => {
    const folder = writeRun(own(rotatedResult('lb-sfo1-01', (await ca.issue(LB_NAMES)).pem)));
    const genuine = createHash('sha256')
      .update(readFileSync(join(folder, 'plan.json')))
      .digest('hex');
    const accepted = await runReport(folder, slack.url, { inputs: { 'plan-sha256': genuine } });
    expect(accepted.stdout).not.toContain('is not the one the plan job wrote');
    // Another job of the run swaps the artifact for a plan that lists its device under its own entry.
    writeFileSync(join(folder, 'plan.json'), `${readFileSync(join(folder, 'plan.json'), 'utf8')} `);
    const run = await runReport(folder, slack.url, { inputs: { 'plan-sha256': genuine } });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /the plan file .* is not the one the plan job wrote \(SHA-256 [0-9a-f]{64}, the plan job said [0-9a-f]{64}\)/,
    );
  }, 60_000);

  it("does not vouch for a head that carries over a colleague's push to the branch", async () => {
    // Someone with push access (not the bot) records a certificate for lb-sfo1-01 on the branch.
    const colleague = join(dir, 'colleague');
    git(dir, 'clone', '--quiet', '--branch', 'ottr/rotations', bare, colleague);
    const file = join(colleague, LB_FILE);
    writeFileSync(
      file,
      applyCertificate(readFileSync(file, 'utf8'), {
        not_before: new Date().toISOString(),
        not_after: '2099-01-01T00:00:00Z',
        serial: '0bad',
        rotated_at: new Date().toISOString(),
      })!,
    );
    git(
      colleague,
      '-c',
      'user.name=Colleague',
      'commit',
      '--quiet',
      '-am',
      'ottr: record 1 rotated certificate(s)',
    );
    git(colleague, 'push', '--quiet', 'origin', 'ottr/rotations');
    const fresh = rotatedResult('fw-sfo1-01', (await ca.issue(FW_NAMES)).pem);
    const run = await runReport(writeRun(own(fresh)), slack.url);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs['pull-request-action']).toBe('updated');
    const head = git(bare, 'rev-parse', 'ottr/rotations').trim();
    expect(github.statuses.filter((s) => s.sha === head)).toEqual([]);
    expect(run.stdout).toMatch(
      /^::warning::ottr\/rotations was at [0-9a-f]{12}, which has no ottr\/rotations status from github-actions\[bot\], and the new head carries over its records \(lb-sfo1-01\)/m,
    );
  }, 60_000);
});

describe('actions/report when publishing fails', () => {
  it('still opens the failure issues and tells Slack, then fails the run', async () => {
    const slackBefore = slack.received.length;
    const second: RotationResult = { ...failed, system_name: 'fw-sfo1-02' };
    // The pull request API is down (after the push): every attempt to find or open the pull request fails.
    github.failNext(502, { path: /\/pulls$/, times: 10 });
    const run = await runReport(writeRun(own(second)), slack.url);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^::error::publishing the rotations failed: /m);
    expect(github.issues.find((i) => i.title.includes('fw-sfo1-02'))?.state).toBe('open');
    expect(slack.received.length).toBe(slackBefore + 1);
    expect(JSON.stringify(slack.received.at(-1)!.body)).toContain('fw-sfo1-02');
    expect(run.summary).toContain('**Pull request:** not published: ');
  }, 60_000);
});
