import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryDefaultBranch } from '../../src/actions/inputs.ts';
import { ensureLabel } from '../../src/github/labels.ts';
import { GitHubRateLimitError, withRateLimitRetries } from '../../src/github/retry.ts';
import { publishBranch, publishRotations, reapplyResults } from '../../src/gitops/pull-request.ts';
import type { RotationResult } from '../../src/model/results.ts';
import { FAILURE_LABEL, syncFailureIssues } from '../../src/notify/github-issues.ts';
import { git, sampleRemote } from '../helpers/git.ts';
import { GitHubEmulator } from '../lab/github/emulator.ts';
import { installWorkflowPushGuard, WORKFLOWS_PERMISSION_ENV } from '../lab/github/workflow-guard.ts';

const OWNER = 'acme';

function rotated(name: string, notAfter: string): RotationResult {
  return {
    schema: 'ottr.result/v1',
    system_name: name,
    status: 'rotated',
    certificate: {
      not_before: '2026-11-23T06:00:00Z',
      not_after: notAfter,
      serial: `05${name.length}${notAfter.slice(0, 4)}`,
      issuer: "CN=E7,O=Let's Encrypt,C=US",
      sha256_fingerprint: Array.from({ length: 32 }, () => 'AB').join(':'),
      rotated_at: '2026-11-23T06:05:00Z',
    },
    previous: { serial: '04f1', not_after: '2026-11-29T09:12:43Z' },
    phases: [{ name: 'install', ms: 2000 }],
  };
}

function failed(name: string): RotationResult {
  return {
    schema: 'ottr.result/v1',
    system_name: name,
    status: 'failed',
    phases: [{ name: 'precheck', ms: 300 }],
    error: { phase: 'precheck', class: 'device_unreachable', message: 'connect ETIMEDOUT 192.0.2.31:443' },
  };
}

let emulator: GitHubEmulator;
const dirs: string[] = [];
const client = (token: string) => getOctokit(token, { baseUrl: emulator.url });

/** A bare origin seeded with the sample repository (registered with the emulator) and a checkout of it. */
function lab(repo: string, options: Parameters<GitHubEmulator['addRepo']>[2] = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ottr-gh-rules-'));
  dirs.push(dir);
  const bare = sampleRemote(dir);
  const checkout = join(dir, 'checkout');
  git(dir, 'clone', '--quiet', bare, checkout);
  emulator.addRepo(OWNER, repo, { gitDir: bare, ...options });
  return { dir, bare, checkout };
}

const count = (method: string, path: RegExp) =>
  emulator.requests.filter((r) => r.method === method && path.test(r.path)).length;

beforeAll(async () => {
  emulator = new GitHubEmulator();
  await emulator.start();
});

afterAll(async () => {
  await emulator.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('per-token permissions', () => {
  it('answers 403 "Resource not accessible by integration" to a call the token may not make', async () => {
    lab('perm-raw');
    emulator.permissions.set('reader', { contents: 'read', issues: 'read' });
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${emulator.url}/repos/${OWNER}/perm-raw${path}`, {
        method,
        headers: { authorization: 'token reader', 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    expect((await call('GET', '/issues')).status).toBe(200);
    const refused = await call('POST', '/issues', { title: 'x' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      message: 'Resource not accessible by integration',
      documentation_url: expect.stringContaining('docs.github.com'),
    });
    expect((await call('GET', '/pulls')).status).toBe(403);
    // A token without a permission set may do everything (the default for tests that do not care).
    const open = await fetch(`${emulator.url}/repos/${OWNER}/perm-raw/pulls`, {
      headers: { authorization: 'token anyone' },
    });
    expect(open.status).toBe(200);
  });

  it('the failure issues report the refusal and the pull request names the permission to add', async () => {
    const { checkout } = lab('perm-code');
    emulator.permissions.set('no-issues', { contents: 'write', 'pull-requests': 'write', issues: 'read' });
    const summary = await syncFailureIssues({
      octokit: client('no-issues'),
      owner: OWNER,
      repo: 'perm-code',
      results: [failed('fw-sfo1-01')],
    });
    expect(summary.opened).toEqual([]);
    expect(summary.errors).toEqual([
      {
        device: 'fw-sfo1-01',
        message: expect.stringMatching(/permissions: issues: write.*Resource not accessible by integration/),
      },
    ]);

    emulator.permissions.set('no-pulls', { contents: 'write', issues: 'write' });
    const results = [rotated('fw-sfo1-01', '2027-02-21T06:00:00Z')];
    await expect(
      publishRotations({
        repoDir: checkout,
        defaultBranch: 'main',
        results,
        reapply: reapplyResults(results),
        octokit: client('no-pulls'),
        owner: OWNER,
        repo: 'perm-code',
      }),
    ).rejects.toThrow(/GitHub refused.*pull-requests: write/);
  });
});

describe('git over HTTP with a token (contents: read to fetch, contents: write to push)', () => {
  it('a token with contents: read clones but its push is refused with 403; contents: write pushes', async () => {
    const { dir, bare } = lab('git-http');
    emulator.permissions.set('ghs_reader', { contents: 'read', 'pull-requests': 'write' });
    emulator.permissions.set('ghs_writer', { contents: 'write', 'pull-requests': 'write' });
    const cloneUrl = `${emulator.url}/${OWNER}/git-http.git`;
    const auth = (token: string) => [
      '-c',
      `http.${emulator.url}/.extraheader=AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
    ];
    const checkout = join(dir, 'over-http');
    const run = (args: string[], cwd = dir) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile('git', args, { cwd }, (error, _stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr }),
        );
      });
    // No token: git is asked for credentials, which a runner cannot give.
    expect(
      (await run(['-c', 'credential.helper=', 'clone', '--quiet', cloneUrl, join(dir, 'anon')])).code,
    ).not.toBe(0);
    expect((await run([...auth('ghs_reader'), 'clone', '--quiet', cloneUrl, checkout])).code).toBe(0);
    expect(git(checkout, 'log', '--oneline').trim()).not.toBe('');

    // The report's own push path (src/gitops): the token goes as basic auth to the server URL only.
    const results = [rotated('fw-sfo1-01', '2027-02-21T06:00:00Z')];
    const publish = (token: string) =>
      publishRotations({
        repoDir: checkout,
        defaultBranch: 'main',
        results,
        reapply: reapplyResults(results),
        octokit: client(token),
        owner: OWNER,
        repo: 'git-http',
        git: { auth: { token, serverUrl: emulator.url } },
      });
    await expect(publish('ghs_reader')).rejects.toThrow(
      /refused the push to ottr\/rotations \(403: permission to acme\/git-http\.git denied to github-actions\[bot\]\).*contents: write/,
    );
    expect(git(bare, 'branch', '--list', 'ottr/rotations').trim()).toBe('');
    await expect(publish('ghs_writer')).resolves.toMatchObject({ action: 'created' });
    expect(git(bare, 'branch', '--list', 'ottr/rotations').trim()).not.toBe('');
  });
});

describe('branch protection on the default branch (pull requests required)', () => {
  it('a token cannot push main (GH006) but pushes the rotations branch; a local administrator still can', async () => {
    const { dir, bare } = lab('protected', { protectedBranches: ['main'] });
    emulator.permissions.set('ghs_pusher', { contents: 'write', 'pull-requests': 'write' });
    const header = `http.${emulator.url}/.extraheader=AUTHORIZATION: basic ${Buffer.from('x-access-token:ghs_pusher').toString('base64')}`;
    const checkout = join(dir, 'protected-http');
    // Asynchronous: the emulator answering git runs in this process.
    const gitAsync = (args: string[], cwd = dir) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile('git', ['-c', header, ...args], { cwd }, (error, _stdout, stderr) =>
          resolve({ code: error ? 1 : 0, stderr }),
        );
      });
    expect(
      (await gitAsync(['clone', '--quiet', `${emulator.url}/${OWNER}/protected.git`, checkout])).code,
    ).toBe(0);
    writeFileSync(join(checkout, 'note.txt'), 'x\n');
    git(checkout, 'add', 'note.txt');
    git(checkout, 'commit', '--quiet', '-m', 'straight to main');
    const before = git(bare, 'rev-parse', 'main').trim();
    const refused = await gitAsync(['push', '--quiet', 'origin', 'main'], checkout);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('GH006: Protected branch update failed for refs/heads/main.');
    expect(refused.stderr).toContain('Changes must be made through a pull request.');
    expect(git(bare, 'rev-parse', 'main').trim()).toBe(before);
    // The same commit on the bot branch goes through: that is how the report and sync publish.
    const pushed = await gitAsync(['push', '--quiet', 'origin', 'HEAD:refs/heads/ottr/rotations'], checkout);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(git(bare, 'rev-parse', 'ottr/rotations').trim()).toBe(git(checkout, 'rev-parse', 'HEAD').trim());
    // A merge by a person (a local push here) is not a token push.
    git(checkout, 'push', '--quiet', bare, 'HEAD:main');
    expect(git(bare, 'rev-parse', 'main').trim()).toBe(git(checkout, 'rev-parse', 'HEAD').trim());
  });
});

describe('the setting that forbids GitHub Actions to create pull requests', () => {
  it('refuses GITHUB_TOKEN with 403 and the code says which setting to change; an App token may', async () => {
    const { checkout } = lab('no-actions-prs', { actionsCanCreatePullRequests: false });
    const results = [rotated('fw-sfo1-01', '2027-02-21T06:00:00Z')];
    const publish = (token: string) =>
      publishRotations({
        repoDir: checkout,
        defaultBranch: 'main',
        results,
        reapply: reapplyResults(results),
        octokit: client(token),
        owner: OWNER,
        repo: 'no-actions-prs',
      });
    await expect(publish('github-token')).rejects.toThrow(
      /Allow GitHub Actions to create and approve pull requests.*GitHub App token.*not permitted to create or approve pull requests/,
    );
    emulator.logins.set('app-token', 'ottr-lab[bot]');
    await expect(publish('app-token')).resolves.toMatchObject({ action: 'created' });
  });
});

describe('pushes that change .github/workflows without the workflows permission', () => {
  const adminEnv = { ...process.env, [WORKFLOWS_PERMISSION_ENV]: 'write' };

  function changeWorkflowOnMain(dir: string, bare: string): void {
    const admin = join(dir, `admin-${Date.now()}`);
    git(dir, 'clone', '--quiet', bare, admin);
    const file = join(admin, '.github/workflows/x.yml');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `on: push\n# ${Date.now()}\n`);
    git(admin, 'add', '.');
    git(admin, 'commit', '--quiet', '-m', 'ci: change x.yml');
    execFileSync('git', ['push', '--quiet', 'origin', 'main'], { cwd: admin, env: adminEnv, stdio: 'pipe' });
  }

  it('refuses a bot commit that changes a workflow, with an error naming the file', async () => {
    const { bare, checkout } = lab('wf-own');
    installWorkflowPushGuard(bare);
    await expect(
      publishBranch({
        repoDir: checkout,
        defaultBranch: 'main',
        branch: 'ottr/onboarding',
        async apply(dir) {
          mkdirSync(join(dir, '.github/workflows'), { recursive: true });
          writeFileSync(join(dir, '.github/workflows/x.yml'), 'on: push\n');
          return ['.github/workflows/x.yml'];
        },
        commitMessage: 'touch a workflow',
        pullRequest: { title: 't', body: 'b' },
        octokit: client('app'),
        owner: OWNER,
        repo: 'wf-own',
      }),
    ).rejects.toThrow(
      /refused the push to ottr\/onboarding.*\.github\/workflows\/x\.yml.*`workflows` permission/,
    );
    expect(git(bare, 'branch', '--list', 'ottr/onboarding').trim()).toBe('');
  });

  it('the rotations branch rebuilt on a main whose workflows changed is accepted; a stale base is not', async () => {
    const { dir, bare, checkout } = lab('wf-main', { guardWorkflowPushes: true });
    const publish = (results: RotationResult[]) =>
      publishRotations({
        repoDir: checkout,
        defaultBranch: 'main',
        results,
        reapply: reapplyResults(results),
        octokit: client('app'),
        owner: OWNER,
        repo: 'wf-main',
      });
    await expect(publish([rotated('fw-sfo1-01', '2027-02-21T06:00:00Z')])).resolves.toMatchObject({
      action: 'created',
    });
    const staleTip = git(bare, 'rev-parse', 'ottr/rotations').trim();
    changeWorkflowOnMain(dir, bare);

    const second = await publish([rotated('fw-sfo1-02', '2027-02-22T06:00:00Z')]);
    expect(second).toMatchObject({ action: 'updated', carriedOver: ['fw-sfo1-01'] });
    expect(git(bare, 'rev-parse', 'ottr/rotations^').trim()).toBe(git(bare, 'rev-parse', 'main').trim());
    expect(git(bare, 'diff', '--name-only', 'main', 'ottr/rotations').trim().split('\n')).toEqual([
      'inventory/sfo1/fw-sfo1-01.yaml',
      'inventory/sfo1/fw-sfo1-02.yaml',
    ]);

    // What the rebuild avoids: a branch left on the old base (no workflow in its own commits) is refused.
    const other = join(dir, 'stale');
    git(dir, 'clone', '--quiet', bare, other);
    git(other, 'checkout', '--quiet', '-b', 'stale', staleTip);
    writeFileSync(join(other, 'note.txt'), 'x\n');
    git(other, 'add', 'note.txt');
    git(other, 'commit', '--quiet', '-m', 'note');
    expect(() => git(other, 'push', '--quiet', 'origin', 'stale')).toThrow(
      /refusing to allow a GitHub App to create or update workflow `\.github\/workflows\/x\.yml` without `workflows` permission/,
    );
  });
});

describe('rate limits', () => {
  it('waits what retry-after or x-ratelimit-reset asks and tries again', async () => {
    lab('rate');
    const octokit = client('rate-token');
    emulator.rateLimitNext('secondary', { method: 'POST', path: /\/issues$/, seconds: 1 });
    emulator.rateLimitNext('secondary', { method: 'GET', path: /\/issues$/, seconds: 0, status: 429 });
    const started = Date.now();
    const summary = await syncFailureIssues({
      octokit,
      owner: OWNER,
      repo: 'rate',
      results: [failed('fw-sfo1-01')],
    });
    expect(summary.errors).toEqual([]);
    expect(summary.opened).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(count('POST', /\/repos\/acme\/rate\/issues$/)).toBe(2);
    expect(count('GET', /\/repos\/acme\/rate\/issues$/)).toBe(2);

    emulator.rateLimitNext('primary', { method: 'GET', path: /\/issues$/, seconds: 1 });
    const again = await syncFailureIssues({
      octokit,
      owner: OWNER,
      repo: 'rate',
      results: [failed('fw-sfo1-01')],
    });
    expect(again).toMatchObject({ errors: [], commented: [{ device: 'fw-sfo1-01' }] });
  });

  it('gives up with a clear error when the wait is too long or the limit does not lift', async () => {
    lab('rate-give-up');
    const octokit = withRateLimitRetries(client('rate-give-up'));
    emulator.rateLimitNext('secondary', { method: 'GET', path: /rate-give-up\/pulls$/, seconds: 3600 });
    const listing = octokit.rest.pulls.list({ owner: OWNER, repo: 'rate-give-up' });
    await expect(listing).rejects.toThrow(GitHubRateLimitError);
    await expect(listing).rejects.toThrow(/asks to wait 3600 s, longer than the 60 s this run waits/);

    const before = count('GET', /rate-give-up\/pulls$/);
    emulator.rateLimitNext('secondary', {
      method: 'GET',
      path: /rate-give-up\/pulls$/,
      seconds: 0,
      times: 10,
    });
    await expect(octokit.rest.pulls.list({ owner: OWNER, repo: 'rate-give-up' })).rejects.toThrow(
      /still limited after 4 tries/,
    );
    expect(count('GET', /rate-give-up\/pulls$/) - before).toBe(4);
  });

  it('does not retry a 403 that is no rate limit', async () => {
    lab('rate-403');
    emulator.permissions.set('rate-403', { issues: 'read' });
    const before = count('POST', /rate-403\/issues$/);
    const summary = await syncFailureIssues({
      octokit: client('rate-403'),
      owner: OWNER,
      repo: 'rate-403',
      results: [failed('fw-sfo1-01')],
    });
    expect(summary.errors).toHaveLength(1);
    expect(count('POST', /rate-403\/issues$/) - before).toBe(1);
  });
});

describe('issues disabled and the race right after a push', () => {
  it('410 "Issues are disabled" is reported once and the run goes on with its pull request', async () => {
    const { checkout } = lab('no-issues', { hasIssues: false });
    const summary = await syncFailureIssues({
      octokit: client('t'),
      owner: OWNER,
      repo: 'no-issues',
      results: [failed('fw-sfo1-01'), failed('fw-sfo1-02')],
    });
    expect(summary.errors).toEqual([
      { device: '*', message: expect.stringMatching(/issues are disabled.*410/) },
    ]);
    const results = [rotated('fw-sfo1-01', '2027-02-21T06:00:00Z')];
    await expect(
      publishRotations({
        repoDir: checkout,
        defaultBranch: 'main',
        results,
        reapply: reapplyResults(results),
        octokit: client('t'),
        owner: OWNER,
        repo: 'no-issues',
      }),
    ).resolves.toMatchObject({ action: 'created' });
  });

  it('a 422 "No commits between" right after the push is retried until GitHub sees the head', async () => {
    const { checkout } = lab('lag');
    emulator.lagNextPullCreation(2);
    const results = [rotated('fw-sfo1-01', '2027-02-21T06:00:00Z')];
    const outcome = await publishRotations({
      repoDir: checkout,
      defaultBranch: 'main',
      results,
      reapply: reapplyResults(results),
      octokit: client('t'),
      owner: OWNER,
      repo: 'lag',
    });
    expect(outcome).toMatchObject({ action: 'created', number: 1 });
    expect(count('POST', /\/repos\/acme\/lag\/pulls$/)).toBe(3);
  });
});

describe('label creation', () => {
  it('enforces name length and color format, answers already_exists, and ensureLabel carries on', async () => {
    lab('labels');
    const octokit = client('t');
    const target = { owner: OWNER, repo: 'labels' };
    const raw = (body: unknown) =>
      fetch(`${emulator.url}/repos/${OWNER}/labels/labels`, {
        method: 'POST',
        headers: { authorization: 'token t', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await raw({ name: 'x'.repeat(51) })).status).toBe(422);
    const badColor = await raw({ name: 'red', color: '#ff0000' });
    expect(badColor.status).toBe(422);
    expect(await badColor.json()).toMatchObject({ errors: [{ code: 'invalid', field: 'color' }] });

    await expect(ensureLabel(octokit, target, { name: 'ottr', color: '#0e8a16' })).resolves.toEqual({
      created: true,
    });
    const duplicate = await raw({ name: 'OTTR' });
    expect(duplicate.status).toBe(422);
    expect(await duplicate.json()).toMatchObject({ errors: [{ code: 'already_exists', field: 'name' }] });
    await expect(ensureLabel(octokit, target, { name: 'Ottr' })).resolves.toEqual({ created: false });
    await expect(ensureLabel(octokit, target, { name: 'y'.repeat(51) })).rejects.toThrow(
      /1 to 50 characters/,
    );
    expect(emulator.repos.get(`${OWNER}/labels`)!.labels.get('ottr')).toMatchObject({ color: '0e8a16' });

    // The failure issues create their label once, and a label already there is no error.
    for (let run = 0; run < 2; run++) {
      const summary = await syncFailureIssues({
        octokit,
        ...target,
        results: [failed(run === 0 ? 'fw-sfo1-01' : 'fw-sfo1-02')],
      });
      expect(summary).toMatchObject({ errors: [], opened: [{ device: expect.any(String) }] });
    }
    expect(emulator.repos.get(`${OWNER}/labels`)!.labels.get(FAILURE_LABEL)).toMatchObject({
      color: 'b60205',
    });
  });
});

describe('the default branch of a scheduled run', () => {
  it('comes from GET /repos/{owner}/{repo} when the event names none, and a missing repository is a clear error', async () => {
    emulator.addRepo(OWNER, 'trunk-based', { defaultBranch: 'trunk' });
    const octokit = client('ghs_scheduled');
    await expect(
      repositoryDefaultBranch(undefined, octokit, { owner: OWNER, repo: 'trunk-based' }),
    ).resolves.toBe('trunk');
    await expect(
      repositoryDefaultBranch(undefined, octokit, { owner: OWNER, repo: 'nowhere' }),
    ).rejects.toThrow(/does not name the default branch and the API did not either .*set the input base/);
  });
});
