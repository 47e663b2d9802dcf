import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotationResult } from '../../src/model/results.ts';
import type { Device } from '../../src/model/types.ts';
import {
  deviceMarker,
  FAILURE_LABEL,
  failureIssueTitle,
  syncFailureIssues,
} from '../../src/notify/github-issues.ts';
import { notifySlack, postToSlack } from '../../src/notify/slack.ts';
import { GitHubEmulator } from '../lab/github/emulator.ts';
import { SlackReceiver, unreachableWebhookUrl } from '../lab/github/receiver.ts';

const OWNER = 'acme';
const REPO = 'network';
const RUN_URL = 'https://github.com/acme/network/actions/runs/2002';

const FW: Device = {
  system_name: 'fw-sfo1-01',
  common_name: 'fw-sfo1-01.mgmt.example.com',
  host_platform: 'panos',
  os_version: '10.2.4',
  data_center: 'sfo1',
  ip_address: '192.0.2.11',
  certificate_authority: 'lets_encrypt',
  certificate: { not_after: '2026-11-29T09:12:43Z' },
};
const LB: Device = {
  system_name: 'lb-sfo1-01',
  common_name: 'lb-sfo1-01.mgmt.example.com',
  host_platform: 'f5',
  os_version: '17.1.1',
  data_center: 'sfo1',
  ip_address: '192.0.2.21',
  certificate_authority: 'corp_ca',
};

function failure(name: string, message = 'commit failed: <b>job 42</b> | locked'): RotationResult {
  return {
    schema: 'ottr.result/v1',
    system_name: name,
    status: 'rolled_back',
    phases: [{ name: 'install', ms: 900 }],
    error: { phase: 'install', class: 'activate_failed', message },
    rollback: { restored: true, message: 'previous certificate bound again' },
    run_url: `${RUN_URL}/job/9`,
  };
}

function success(name: string): RotationResult {
  return {
    schema: 'ottr.result/v1',
    system_name: name,
    status: 'rotated',
    certificate: {
      not_before: '2026-11-24T06:00:00Z',
      not_after: '2027-02-22T06:00:00Z',
      serial: '05cafe',
      issuer: "CN=E7,O=Let's Encrypt,C=US",
      sha256_fingerprint: 'AB:CD',
      rotated_at: '2026-11-24T06:05:00Z',
    },
    phases: [],
  };
}

describe('failure issues', () => {
  let emulator: GitHubEmulator;
  let octokit: ReturnType<typeof getOctokit>;
  const sync = (results: RotationResult[]) =>
    syncFailureIssues({
      octokit,
      owner: OWNER,
      repo: REPO,
      results,
      devices: [FW, LB],
      labels: ['ottr', 'certificates'],
      runUrl: RUN_URL,
    });

  beforeAll(async () => {
    emulator = new GitHubEmulator();
    await emulator.start();
    emulator.addRepo(OWNER, REPO);
    octokit = getOctokit('lab-token', { baseUrl: emulator.url });
  });
  afterAll(() => emulator.stop());

  it('opens one issue for a failing device, with its details and a hidden marker', async () => {
    const summary = await sync([failure('fw-sfo1-01'), success('lb-sfo1-01')]);
    expect(summary).toEqual({
      opened: [{ device: 'fw-sfo1-01', number: 1 }],
      commented: [],
      closed: [],
      errors: [],
    });
    const issue = emulator.issues[0]!;
    expect(issue.title).toBe(failureIssueTitle('fw-sfo1-01'));
    expect(issue.labels).toEqual([FAILURE_LABEL, 'ottr', 'certificates']);
    expect(issue.body).toContain(deviceMarker('fw-sfo1-01'));
    for (const text of [
      '192.0.2.11',
      'panos',
      '10.2.4',
      'lets_encrypt',
      '2026-11-29 09:12Z',
      'install',
      'activate_failed',
    ])
      expect(issue.body).toContain(text);
    expect(issue.body).toContain('commit failed: <b>job 42</b> | locked');
    expect(issue.body).toContain(`[this run](${RUN_URL}/job/9)`);
    expect(issue.body).toContain('previous certificate restored');
  });

  it('comments on the open issue when the device fails again, found past the first page', async () => {
    // Other devices' issues (and a pull request carrying the same label) push this one to a later page.
    for (let i = 0; i < 120; i++)
      await octokit.rest.issues.create({
        owner: OWNER,
        repo: REPO,
        title: failureIssueTitle(`other-${i}`),
        body: deviceMarker(`other-${i}`),
        labels: [FAILURE_LABEL],
      });
    const requests = emulator.requests.length;
    const summary = await sync([failure('fw-sfo1-01', 'timeout after 30 s')]);
    expect(summary).toEqual({
      opened: [],
      commented: [{ device: 'fw-sfo1-01', number: 1 }],
      closed: [],
      errors: [],
    });
    const listings = emulator.requests
      .slice(requests)
      .filter((r) => r.method === 'GET' && r.path === `/repos/${OWNER}/${REPO}/issues`);
    expect(listings).toHaveLength(2);
    const comments = emulator.comments.filter((c) => c.issue_number === 1);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('Failed again in phase `install` with `activate_failed`');
    expect(comments[0]!.body).toContain('timeout after 30 s');
    expect(emulator.issues.filter((i) => i.title === failureIssueTitle('fw-sfo1-01'))).toHaveLength(1);
  });

  it('closes the issue with a comment once the device rotates, and opens a new one on a later failure', async () => {
    const summary = await sync([success('fw-sfo1-01')]);
    expect(summary.closed).toEqual([{ device: 'fw-sfo1-01', number: 1 }]);
    const issue = emulator.issues[0]!;
    expect(issue).toMatchObject({ state: 'closed', state_reason: 'completed' });
    expect(emulator.comments.at(-1)!.body).toContain(
      'now serves serial `05cafe`, expiring 2027-02-22 06:00Z',
    );

    const again = await sync([failure('fw-sfo1-01')]);
    expect(again.opened).toHaveLength(1);
    expect(again.opened[0]!.number).not.toBe(1);
  });

  it('keeps going when one call fails and ignores dry runs and invalid names', async () => {
    emulator.failNext(502, { method: 'POST', path: /\/issues$/ });
    const summary = await sync([
      failure('lb-sfo1-01'),
      failure('fw-sfo1-02'),
      { ...failure('dry-01'), dry_run: true },
      failure('Bad Name -->'),
    ]);
    expect(summary.errors.map((e) => e.device)).toEqual(['lb-sfo1-01', 'Bad Name -->']);
    expect(summary.opened.map((o) => o.device)).toEqual(['fw-sfo1-02']);
    expect(emulator.issues.some((i) => i.title.includes('dry-01'))).toBe(false);
  });

  it('reports, without throwing, when the issues cannot be listed', async () => {
    emulator.failNext(403, { method: 'GET' });
    const summary = await sync([failure('fw-sfo1-01')]);
    expect(summary.errors).toHaveLength(1);
    expect(summary.errors[0]!.device).toBe('*');
  });
});

describe('Slack alerts', () => {
  let receiver: SlackReceiver;
  beforeAll(async () => {
    receiver = new SlackReceiver();
    await receiver.start();
  });
  afterAll(() => receiver.stop());

  it('sends one message per failed device with the inventory fields and never the webhook', async () => {
    const before = receiver.received.length;
    const outcome = await notifySlack({
      webhookUrl: receiver.url,
      results: [
        failure('fw-sfo1-01'),
        success('web-1'),
        { ...failure('lb-sfo1-01'), rollback: { restored: false, message: 'device refused' } },
      ],
      devices: [FW, LB],
      runUrl: RUN_URL,
    });
    expect(outcome).toEqual({ sent: true, messages: 2 });
    const messages = receiver.received
      .slice(before)
      .map((m) => m.body as { text: string; blocks: unknown[] });
    expect(messages).toHaveLength(2);
    const [fw, lb] = messages as [{ text: string; blocks: unknown[] }, { text: string; blocks: unknown[] }];
    for (const text of [
      'fw-sfo1-01',
      'IP address: 192.0.2.11',
      'Platform: panos',
      'OS version: 10.2.4',
      'Certificate authority: lets_encrypt',
      'Current expiry: 2026-11-29T09:12:43Z',
      'Phase: install',
      'activate_failed: commit failed: &lt;b&gt;job 42&lt;/b&gt; | locked',
      'Rollback: previous certificate restored',
      `<${RUN_URL}/job/9|the run>`,
    ])
      expect(fw.text).toContain(text);
    expect(lb.text).toContain('NOT restored: device refused');
    expect(JSON.stringify(fw.blocks)).toContain('*IP address*\\n192.0.2.11');
    const everything = JSON.stringify(messages);
    expect(everything).not.toContain(receiver.path);
    expect(everything).not.toContain('web-1');
  });

  it('retries once after a 500 or a 429, waiting what Retry-After asks', async () => {
    receiver.answerNext({ status: 500 });
    const attempts = receiver.attempts;
    expect(await postToSlack(receiver.url, { text: 'x', blocks: [] })).toEqual({ sent: true });
    expect(receiver.attempts - attempts).toBe(2);

    receiver.answerNext({ status: 429, retryAfter: 1 });
    const started = Date.now();
    expect(await postToSlack(receiver.url, { text: 'x', blocks: [] })).toEqual({ sent: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    receiver.answerNext({ status: 429, retryAfter: 3600 }, { status: 429, retryAfter: 3600 });
    const capped = Date.now();
    const outcome = await postToSlack(receiver.url, { text: 'x', blocks: [] }, { maxRetryWaitMs: 100 });
    expect(Date.now() - capped).toBeLessThan(2000);
    expect(outcome).toEqual({ sent: false, reason: 'the Slack webhook answered HTTP 429 (after one retry)' });
  });

  it('does not fail the run when the webhook errors, is slow or is down, and names no secret', async () => {
    receiver.answerNext({ status: 500 }, { status: 503 });
    const erroring = await notifySlack({
      webhookUrl: receiver.url,
      results: [failure('fw-sfo1-01'), failure('lb-sfo1-01')],
    });
    expect(erroring).toEqual({
      sent: false,
      messages: 0,
      reason: 'the Slack webhook answered HTTP 503 (after one retry)',
    });

    receiver.answerNext({ status: 200, delayMs: 1500 });
    const slow = await notifySlack({
      webhookUrl: receiver.url,
      results: [failure('fw-sfo1-01')],
      timeoutMs: 300,
    });
    expect(slow).toEqual({
      sent: false,
      messages: 0,
      reason: 'the Slack webhook did not answer within 0.3 s',
    });

    const closed = await unreachableWebhookUrl();
    const down = await notifySlack({ webhookUrl: closed, results: [failure('fw-sfo1-01')] });
    expect(down.sent).toBe(false);
    expect(down.reason).toMatch(/^the Slack webhook could not be reached/);
    expect(down.reason).not.toContain('/services/');

    const wrongPath = await notifySlack({ webhookUrl: `${receiver.url}x`, results: [failure('fw-sfo1-01')] });
    expect(wrongPath).toEqual({ sent: false, messages: 0, reason: 'the Slack webhook answered HTTP 404' });
    for (const reason of [erroring.reason, slow.reason, down.reason, wrongPath.reason])
      expect(reason).not.toContain(receiver.path);
    expect(await notifySlack({ webhookUrl: 'not a url', results: [failure('fw-sfo1-01')] })).toEqual({
      sent: false,
      messages: 0,
      reason: 'the Slack webhook is not an http(s) URL',
    });
  });

  it('summarises failures beyond the message limit in one message, and sends nothing without failures', async () => {
    const before = receiver.received.length;
    const results = Array.from({ length: 5 }, (_, i) => failure(`fw-${i}`));
    expect(await notifySlack({ webhookUrl: receiver.url, results, maxMessages: 3, runUrl: RUN_URL })).toEqual(
      {
        sent: true,
        messages: 3,
      },
    );
    const last = receiver.received.at(-1)!.body as { text: string };
    expect(last.text).toContain('3 more device(s) failed to rotate: fw-2, fw-3, fw-4');
    expect(receiver.received.length - before).toBe(3);
    expect(await notifySlack({ webhookUrl: receiver.url, results: [success('fw-1')] })).toMatchObject({
      sent: false,
      messages: 0,
    });
  });
});
