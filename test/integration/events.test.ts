import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotationResult } from '../../src/model/results.ts';
import { ROTATED_EVENT, sendRotationEvents } from '../../src/notify/events.ts';
import { GitHubEmulator } from '../lab/github/emulator.ts';
import { EventReceiver } from '../lab/github/event-receiver.ts';
import { unreachableWebhookUrl } from '../lab/github/receiver.ts';

const KEY = 'event-signing-key-never-logged';
const rotated = (name: string): RotationResult => ({
  schema: 'ottr.result/v1',
  system_name: name,
  status: 'rotated',
  certificate: {
    not_before: '2026-11-23T06:00:00Z',
    not_after: '2027-02-21T06:00:00Z',
    serial: `0a${name.length}`,
    issuer: 'CN=E7',
    sha256_fingerprint: 'AB:CD',
    rotated_at: '2026-11-23T06:05:00Z',
  },
  phases: [],
  run_url: 'https://github.example/acme/pki/actions/runs/1',
});
const failed: RotationResult = {
  schema: 'ottr.result/v1',
  system_name: 'fw-2',
  status: 'failed',
  phases: [],
  error: { phase: 'install', class: 'install_failed', message: 'x' },
};

let github: GitHubEmulator;
let receiver: EventReceiver;
beforeAll(async () => {
  github = new GitHubEmulator();
  github.tokens.add('t0ken');
  await github.start();
  github.addRepo('acme', 'pki');
  receiver = new EventReceiver(KEY);
  await receiver.start();
});
afterAll(async () => {
  await github.stop();
  await receiver.stop();
});

describe('follow-on events after a run', () => {
  it('a token without contents: write gets 403 and the error names the permission; nothing is thrown', async () => {
    github.tokens.add('read-only');
    github.permissions.set('read-only', { contents: 'read' });
    const outcome = await sendRotationEvents({
      results: [rotated('fw-9')],
      dispatch: { octokit: getOctokit('read-only', { baseUrl: github.url }), owner: 'acme', repo: 'pki' },
    });
    expect(outcome.dispatched).toEqual([]);
    expect(outcome.errors).toEqual([
      {
        device: 'fw-9',
        channel: 'repository_dispatch',
        message: expect.stringMatching(
          /^GitHub answered 403: .*permissions: contents: write.*Resource not accessible by integration/,
        ),
      },
    ]);
    expect(
      github.dispatches.some((d) => (d.client_payload as { system_name?: string }).system_name === 'fw-9'),
    ).toBe(false);
  });

  it('one repository_dispatch and one signed webhook per rotated device, none for failures', async () => {
    const octokit = getOctokit('t0ken', { baseUrl: github.url });
    const outcome = await sendRotationEvents({
      results: [rotated('fw-1'), failed, rotated('lb-1')],
      dispatch: { octokit, owner: 'acme', repo: 'pki' },
      webhook: { url: receiver.url, signingKey: KEY },
    });
    expect(outcome).toEqual({ dispatched: ['fw-1', 'lb-1'], delivered: ['fw-1', 'lb-1'], errors: [] });
    expect(github.dispatches).toEqual([
      expect.objectContaining({
        repo: 'acme/pki',
        event_type: ROTATED_EVENT,
        client_payload: expect.objectContaining({
          system_name: 'fw-1',
          serial: '0a4',
          not_after: '2027-02-21T06:00:00Z',
        }),
      }),
      expect.objectContaining({ client_payload: expect.objectContaining({ system_name: 'lb-1' }) }),
    ]);
    expect(receiver.received.map((r) => r.signatureValid)).toEqual([true, true]);
    expect(receiver.received[0]!.body).toMatchObject({
      event: ROTATED_EVENT,
      device: { system_name: 'fw-1' },
    });
    expect(receiver.received[0]!.headers['x-ottr-event']).toBe(ROTATED_EVENT);
    expect(JSON.stringify(receiver.received)).not.toContain(KEY);
  });

  it('a receiver with another key refuses the signature, and that is reported, not thrown', async () => {
    const outcome = await sendRotationEvents({
      results: [rotated('fw-3')],
      webhook: { url: receiver.url, signingKey: 'the-wrong-key' },
    });
    expect(receiver.received.at(-1)!.signatureValid).toBe(false);
    expect(outcome.errors).toEqual([
      { device: 'fw-3', channel: 'webhook', message: 'the event webhook answered HTTP 401' },
    ]);
  });

  it('an unreachable webhook and a refused dispatch are reported per device; the URL is never named', async () => {
    const url = await unreachableWebhookUrl();
    github.failNext(403, { path: /dispatches$/ });
    const outcome = await sendRotationEvents({
      results: [rotated('fw-4')],
      dispatch: { octokit: getOctokit('t0ken', { baseUrl: github.url }), owner: 'acme', repo: 'pki' },
      webhook: { url, signingKey: KEY },
    });
    expect(outcome.errors.map((e) => e.channel)).toEqual(['repository_dispatch', 'webhook']);
    expect(outcome.errors[0]!.message).toMatch(/^GitHub answered 403/);
    expect(outcome.errors[1]!.message).toMatch(/^the event webhook could not be reached/);
    expect(JSON.stringify(outcome)).not.toContain(url);
  });
});
