import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRun } from '../../src/actions/plan-action.ts';
import { applyCertificate } from '../../src/gitops/apply-results.ts';
import { makeRepo } from '../helpers/cli.ts';
import { GitHubEmulator } from '../lab/github/emulator.ts';

const BOT_TOKEN = 'ghs_botTokenOfTheReportJob000000000001';
const COLLEAGUE_TOKEN = 'ghp_aColleagueWithWriteAccess0000000001';
const repo = makeRepo({ withSampleInventory: true });
let github: GitHubEmulator;
beforeAll(async () => {
  github = new GitHubEmulator();
  github.tokens.add(BOT_TOKEN).add(COLLEAGUE_TOKEN);
  github.logins.set(BOT_TOKEN, 'github-actions[bot]').set(COLLEAGUE_TOKEN, 'colleague');
  await github.start();
  github.addRepo('acme', 'pki', { gitDir: join(repo.root, '.git') });
});
afterAll(async () => {
  await github?.stop();
  repo.cleanup();
});
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=Lab', '-c', 'user.email=lab@example.test', ...args], {
    cwd: repo.root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

const FW = 'inventory/sfo1/fw-sfo1-01.yaml';
const settings = (pendingRef: string, token: string | undefined = BOT_TOKEN) => ({
  root: repo.root,
  devices: [],
  force: false,
  now: new Date('2026-11-23T06:00:00Z'),
  planFile: 'plan.json',
  pendingRef,
  ...(token ? { github: { token, owner: 'acme', repo: 'pki', apiUrl: github.url } } : {}),
});
/** What the report does after pushing: the ottr/rotations status on the head, with its own token. */
const stamp = async (ref: string, token = BOT_TOKEN) =>
  getOctokit(token, { baseUrl: github.url }).rest.repos.createCommitStatus({
    owner: 'acme',
    repo: 'pki',
    sha: git('rev-parse', ref).trim(),
    state: 'success',
    context: 'ottr/rotations',
    description: 'recorded by the report of run 1',
  });

describe('certificates awaiting the merge of the rotations pull request', () => {
  git('init', '--quiet', '--initial-branch=main');
  git('add', '.');
  git('commit', '--quiet', '-m', 'seed');
  git('checkout', '--quiet', '-b', 'ottr/rotations');
  const text = readFileSync(join(repo.root, FW), 'utf8');
  writeFileSync(
    join(repo.root, FW),
    applyCertificate(text, {
      not_before: '2026-11-22T06:00:00Z',
      not_after: '2027-02-20T06:00:00Z',
      serial: '0abc',
      issuer: 'CN=E7',
      sha256_fingerprint: 'AA',
      rotated_at: '2026-11-22T06:05:00Z',
    })!,
  );
  git('commit', '--quiet', '-am', 'ottr: record 1 rotated certificate(s)');
  git('checkout', '--quiet', 'main');

  it('count as recorded: a device rotated yesterday is not due again before the merge', async () => {
    const before = await planRun(settings('refs/heads/no-such-branch'));
    expect(before.plan.due.map((d) => d.system_name)).toContain('fw-sfo1-01');
    await stamp('ottr/rotations');
    const after = await planRun(settings('refs/heads/ottr/rotations'));
    expect(after.pendingTrust).toMatchObject({ trusted: true });
    expect(after.plan.due.map((d) => d.system_name)).not.toContain('fw-sfo1-01');
    expect(after.pending).toEqual(['fw-sfo1-01']);
    expect(after.summary).toMatch(/1 device\(s\) already rotated, awaiting the merge .*: fw-sfo1-01/);
    expect(after.plan.due).toHaveLength(before.plan.due.length - 1);
  });

  it('an older block on the branch never overrides a newer one on the default branch', async () => {
    git('checkout', '--quiet', '-b', 'ottr/old');
    const text = readFileSync(join(repo.root, FW), 'utf8');
    writeFileSync(
      join(repo.root, FW),
      text.replace(/not_after: "[^"]+"/, 'not_after: "2020-01-01T00:00:00Z"'),
    );
    git('commit', '--quiet', '-am', 'old');
    git('checkout', '--quiet', 'main');
    await stamp('ottr/old');
    const plan = await planRun(settings('refs/heads/ottr/old'));
    expect(plan.pendingTrust.trusted).toBe(true);
    expect(plan.pending).toEqual([]);
  });

  it('without a token the branch cannot be checked: ignored with a notice, the device stays due', async () => {
    const plan = await planRun(settings('refs/heads/ottr/rotations', ''));
    expect(plan.pendingTrust).toMatchObject({ trusted: false, level: 'notice' });
    expect(plan.pendingTrust.message).toMatch(/^no github-token: who pushed ottr\/rotations/);
    expect(plan.pending).toEqual([]);
    expect(plan.plan.due.map((d) => d.system_name)).toContain('fw-sfo1-01');
  });

  it("a colleague's push to the branch (no bot status on the new head) is ignored: the device stays due", async () => {
    // Someone who can push, but is not the bot, records a certificate that silences the lb's rotation.
    git('checkout', '--quiet', 'ottr/rotations');
    const LB = 'inventory/sfo1/lb-sfo1-01.yaml';
    writeFileSync(
      join(repo.root, LB),
      applyCertificate(readFileSync(join(repo.root, LB), 'utf8'), {
        not_before: '2026-11-22T06:00:00Z',
        not_after: '2099-01-01T00:00:00Z',
        serial: '0bad',
        rotated_at: '2026-11-22T06:05:00Z',
      })!,
    );
    git('-c', 'user.name=Colleague', 'commit', '--quiet', '-am', 'ottr: record 1 rotated certificate(s)');
    git('checkout', '--quiet', 'main');
    // The colleague even sets the status, with their own token: its creator is not the bot.
    await stamp('ottr/rotations', COLLEAGUE_TOKEN);
    const plan = await planRun(settings('refs/heads/ottr/rotations'));
    expect(plan.pendingTrust).toMatchObject({ trusted: false, level: 'warning' });
    expect(plan.pendingTrust.message).toContain(
      'has no ottr/rotations status from github-actions[bot] (only from colleague): who pushed it is unknown',
    );
    expect(plan.pendingTrust.message).toContain('planned from the default branch');
    expect(plan.summary).toContain('**Warning:**');
    expect(plan.pending).toEqual([]);
    const due = plan.plan.due.map((d) => d.system_name);
    expect(due).toContain('lb-sfo1-01');
    expect(due).toContain('fw-sfo1-01');
    // The bot's status on that head (the report rebuilt and vouched for it) makes it count again.
    await stamp('ottr/rotations');
    const vouched = await planRun(settings('refs/heads/ottr/rotations'));
    expect(vouched.pending.sort()).toEqual(['fw-sfo1-01', 'lb-sfo1-01']);
  });

  it('another bot login (a GitHub App) is trusted only when bot-login names it', async () => {
    git('checkout', '--quiet', '-b', 'ottr/app', 'ottr/rotations');
    git('commit', '--quiet', '--allow-empty', '-m', 'app head');
    git('checkout', '--quiet', 'main');
    const APP_TOKEN = 'ghs_anAppInstallationToken0000000000001';
    github.tokens.add(APP_TOKEN);
    github.logins.set(APP_TOKEN, 'ottr-pki[bot]');
    await stamp('ottr/app', APP_TOKEN);
    expect((await planRun(settings('refs/heads/ottr/app'))).pendingTrust.trusted).toBe(false);
    const app = await planRun({ ...settings('refs/heads/ottr/app'), botLogin: 'ottr-pki[bot]' });
    expect(app.pendingTrust.trusted).toBe(true);
  });

  it('a plan token without statuses: read cannot check: ignored with a warning; a rate limit is waited out', async () => {
    const NO_STATUSES = 'ghs_aPlanTokenWithoutStatuses00000001';
    github.tokens.add(NO_STATUSES);
    github.permissions.set(NO_STATUSES, { contents: 'read' });
    const refused = await planRun(settings('refs/heads/ottr/rotations', NO_STATUSES));
    expect(refused.pendingTrust).toMatchObject({ trusted: false, level: 'warning' });
    expect(refused.pendingTrust.message).toMatch(
      /could not be read \(Resource not accessible by integration/,
    );

    git('checkout', '--quiet', '-b', 'ottr/limited', 'ottr/rotations');
    git('commit', '--quiet', '--allow-empty', '-m', 'limited head');
    git('checkout', '--quiet', 'main');
    await stamp('ottr/limited');
    github.rateLimitNext('secondary', { method: 'GET', path: /\/statuses$/, seconds: 0, status: 429 });
    const waited = await planRun(settings('refs/heads/ottr/limited'));
    expect(waited.pendingTrust.trusted).toBe(true);
  });

  it('the emulator answers the statuses API as GitHub does', async () => {
    const api = getOctokit(COLLEAGUE_TOKEN, { baseUrl: github.url }).rest.repos;
    const head = git('rev-parse', 'ottr/rotations').trim();
    await expect(
      api.createCommitStatus({ owner: 'acme', repo: 'pki', sha: 'ottr/rotations', state: 'success' }),
    ).rejects.toMatchObject({
      status: 422,
      message: expect.stringContaining('sha must be a 40 character SHA1'),
    });
    await expect(
      api.createCommitStatus({ owner: 'acme', repo: 'pki', sha: '0'.repeat(40), state: 'success' }),
    ).rejects.toMatchObject({ status: 422, message: expect.stringContaining('No commit found for SHA') });
    await expect(
      api.createCommitStatus({ owner: 'acme', repo: 'pki', sha: head, state: 'green' as 'success' }),
    ).rejects.toMatchObject({ status: 422 });
    // By branch name too; newest first; the creator is the token's login.
    const { data } = await api.listCommitStatusesForRef({
      owner: 'acme',
      repo: 'pki',
      ref: 'ottr/rotations',
    });
    expect(data.map((s) => s.creator?.login)).toEqual(['github-actions[bot]', 'colleague']);
    expect(data[0]).toMatchObject({ context: 'ottr/rotations', state: 'success', creator: { type: 'Bot' } });
  });
});
