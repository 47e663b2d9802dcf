import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RotationResult } from '../../src/rotate/result.ts';
import { runActionBundle } from '../helpers/action.ts';
import { git, sampleRemote } from '../helpers/git.ts';
import { GitHubEmulator } from '../lab/github/emulator.ts';
import { EventReceiver } from '../lab/github/event-receiver.ts';
import { SlackReceiver, unreachableWebhookUrl } from '../lab/github/receiver.ts';

const TOKEN = 'ghs_labTokenThatMustNeverBePrinted0001';
const rotated: RotationResult = {
  schema: 'ottr.result/v1',
  system_name: 'fw-sfo1-01',
  status: 'rotated',
  certificate: {
    not_before: '2026-11-23T06:00:00Z',
    not_after: '2027-02-21T06:00:00Z',
    serial: '05aa11',
    issuer: 'CN=Pebble Intermediate CA',
    sha256_fingerprint: Array.from({ length: 32 }, () => 'AB').join(':'),
    rotated_at: '2026-11-23T06:05:00Z',
  },
  phases: [{ name: 'install', ms: 2100 }],
};
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

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ottr-report-'));
  bare = sampleRemote(dir);
  checkout = join(dir, 'checkout');
  git(dir, 'clone', '--quiet', bare, checkout);
  github = new GitHubEmulator();
  github.tokens.add(TOKEN);
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

function writeResults(name: string, results: RotationResult[]): string {
  const folder = join(dir, name);
  for (const r of results) {
    // Downloaded artifacts arrive one folder per device.
    mkdirSync(join(folder, `ottr-result-${r.system_name}`), { recursive: true });
    writeFileSync(join(folder, `ottr-result-${r.system_name}`, `${r.system_name}.json`), JSON.stringify(r));
  }
  return folder;
}

const runReport = (resultsDir: string, webhook: string) =>
  runActionBundle(
    'report',
    { root: checkout, 'results-dir': resultsDir, 'github-token': TOKEN, labels: 'automated' },
    {
      GITHUB_API_URL: github.url,
      GITHUB_WORKSPACE: checkout,
      OTTR_SECRETS: JSON.stringify({ SLACK_WEBHOOK_URL: webhook }),
    },
    { repository: { default_branch: 'main' } },
  );

describe('actions/report run as the runner runs it', () => {
  it('records the rotation in a pull request, opens the failing device’s issue and tells Slack', async () => {
    const run = await runReport(writeResults('run1', [rotated, failed]), slack.url);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({ rotated: '1', failed: '1', 'pull-request-action': 'created' });
    const pull = github.pulls.find((p) => p.number === Number(run.outputs['pull-request-number']));
    expect(pull).toMatchObject({ head: 'ottr/rotations', state: 'open' });
    expect([...pull!.labels].sort()).toEqual(['automated', 'certificates', 'ottr']);
    const device = parse(git(bare, 'show', 'ottr/rotations:inventory/sfo1/fw-sfo1-01.yaml'));
    expect(device.certificate.not_after).toBe('2027-02-21T06:00:00Z');
    const issue = github.issues.find((i) => i.title.includes('lb-sfo1-01'));
    expect(issue?.state).toBe('open');
    expect(slack.received).toHaveLength(1);
    expect(JSON.stringify(slack.received[0]!.body)).toContain('lb-sfo1-01');
    expect(run.summary).toMatch(/\*\*Pull request:\*\* \[#\d+\]/);
    // The fleet dashboard for the artifact already counts this run's certificate.
    expect(run.outputs.dashboard).toBe(join(checkout, 'ottr-dashboard/index.html'));
    const dashboard = readFileSync(run.outputs.dashboard!, 'utf8');
    expect(dashboard).toContain('fw-sfo1-01');
    expect(dashboard).toContain('2027-02-21');
    // The token is masked for the log and printed nowhere.
    expect(run.stdout).toContain(`::add-mask::${TOKEN}`);
    expect(run.stdout.replace(`::add-mask::${TOKEN}`, '')).not.toContain(TOKEN);
    expect(run.summary).not.toContain(TOKEN);
  }, 60_000);

  it('the same results again change nothing, and the repeat failure is a comment on the open issue', async () => {
    const run = await runReport(writeResults('run2', [rotated, failed]), slack.url);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs['pull-request-action']).toBe('unchanged');
    expect(github.pulls.filter((p) => p.state === 'open')).toHaveLength(1);
    const issue = github.issues.find((i) => i.title.includes('lb-sfo1-01'))!;
    expect(github.comments.filter((c) => c.issue_number === issue.number)).toHaveLength(1);
  }, 60_000);

  it('a device removed from the inventory since the plan is skipped with a note', async () => {
    const gone: RotationResult = { ...rotated, system_name: 'fw-decommissioned-01' };
    const run = await runReport(writeResults('run-removed', [rotated, gone]), slack.url);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(
      '::notice::fw-decommissioned-01 is no longer in the inventory; its result is skipped',
    );
    expect(run.summary).toContain('fw-decommissioned-01: no longer in the inventory');
    expect(git(bare, 'ls-tree', '-r', '--name-only', 'ottr/rotations')).not.toContain('fw-decommissioned-01');
  }, 60_000);

  it('a Slack webhook that is down is a warning, never a failed run', async () => {
    const run = await runReport(writeResults('run3', [failed]), await unreachableWebhookUrl());
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^::warning::Slack: the Slack webhook could not be reached/m);
  }, 60_000);

  it('sends the follow-on events settings ask for: repository_dispatch and a signed webhook', async () => {
    const receiver = new EventReceiver('signing-key-from-the-pki-environment');
    await receiver.start();
    const settingsFile = join(checkout, 'routing/settings.yaml');
    const original = readFileSync(settingsFile, 'utf8');
    const withEvents = original.replace(
      /^events:\n(?: .*\n)*/m,
      'events:\n  repository_dispatch: true\n  webhook_url_secret: EVENTS_URL\n  webhook_signing_secret: EVENTS_KEY\n',
    );
    expect(withEvents).not.toBe(original);
    writeFileSync(settingsFile, withEvents);
    try {
      const run = await runActionBundle(
        'report',
        { root: checkout, 'results-dir': writeResults('run-events', [rotated]), 'github-token': TOKEN },
        {
          GITHUB_API_URL: github.url,
          GITHUB_WORKSPACE: checkout,
          OTTR_SECRETS: JSON.stringify({
            EVENTS_URL: receiver.url,
            EVENTS_KEY: 'signing-key-from-the-pki-environment',
          }),
        },
        { repository: { default_branch: 'main' } },
      );
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(github.dispatches.at(-1)).toMatchObject({
        event_type: 'ottr-certificate-rotated',
        client_payload: { system_name: 'fw-sfo1-01', serial: '05aa11' },
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
