import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BOT_IDENTITY, Git, GitError } from '../../src/gitops/git.ts';
import { publishRotations, reapplyResults } from '../../src/gitops/pull-request.ts';
import type { RotationResult } from '../../src/model/results.ts';
import { git, sampleRemote } from '../helpers/git.ts';
import { GitHubEmulator } from '../lab/github/emulator.ts';

const OWNER = 'acme';
const REPO = 'network';
const BRANCH = 'ottr/rotations';
const RUN_URL = 'https://github.com/acme/network/actions/runs/1001';
const FW1 = 'inventory/sfo1/fw-sfo1-01.yaml';
const FW2 = 'inventory/sfo1/fw-sfo1-02.yaml';

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

function failedResult(name: string): RotationResult {
  return {
    schema: 'ottr.result/v1',
    system_name: name,
    status: 'failed',
    phases: [{ name: 'precheck', ms: 300 }],
    error: { phase: 'precheck', class: 'device_unreachable', message: 'connect ETIMEDOUT 192.0.2.31:443' },
  };
}

/** A bare remote seeded with the sample repository, a report-job checkout of it and a colleague's clone. */
interface Lab {
  dir: string;
  bare: string;
  checkout: string;
  colleague: string;
}

function makeLab(): Lab {
  const dir = mkdtempSync(join(tmpdir(), 'ottr-pr-'));
  const bare = sampleRemote(dir);
  const checkout = join(dir, 'checkout');
  const colleague = join(dir, 'colleague');
  git(dir, 'clone', '--quiet', bare, checkout);
  git(dir, 'clone', '--quiet', bare, colleague);
  return { dir, bare, checkout, colleague };
}

function show(lab: Lab, ref: string, path: string): string {
  return git(lab.bare, 'show', `${ref}:${path}`);
}

let emulator: GitHubEmulator;
let octokit: ReturnType<typeof getOctokit>;

beforeAll(async () => {
  emulator = new GitHubEmulator();
  emulator.tokens.add('lab-token');
  await emulator.start();
  octokit = getOctokit('lab-token', { baseUrl: emulator.url });
});

afterAll(async () => {
  await emulator.stop();
});

describe('publishRotations', () => {
  let lab: Lab;
  const publish = (results: RotationResult[], extra: { reapply?: (dir: string) => Promise<string[]> } = {}) =>
    publishRotations({
      repoDir: lab.checkout,
      defaultBranch: 'main',
      results,
      reapply: extra.reapply ?? reapplyResults(results),
      octokit,
      owner: OWNER,
      repo: REPO,
      labels: ['ottr', 'certificates'],
      runUrl: RUN_URL,
    });

  beforeAll(() => {
    lab = makeLab();
    emulator.addRepo(OWNER, REPO, { gitDir: lab.bare });
  });
  afterAll(() => rmSync(lab.dir, { recursive: true, force: true }));

  it('pushes the branch and opens a labelled pull request describing the run', async () => {
    const results = [rotated('fw-sfo1-01', '2027-02-21T06:00:00Z'), failedResult('lb-sfo1-01')];
    const outcome = await publish(results);
    expect(outcome).toMatchObject({ action: 'created', number: 1, branch: BRANCH, changedFiles: [FW1] });
    expect(outcome.url).toBe(`https://github.com/${OWNER}/${REPO}/pull/1`);
    expect(git(lab.bare, 'rev-parse', BRANCH).trim()).toBe(outcome.commit);

    const device = parse(show(lab, BRANCH, FW1));
    expect(device.certificate.not_after).toBe('2027-02-21T06:00:00Z');
    expect(device.owner).toBe('netops@example.com');
    expect(git(lab.bare, 'diff', '--name-only', `main...${BRANCH}`).trim()).toBe(FW1);
    expect(git(lab.bare, 'log', '-1', '--format=%an <%ae>|%s', BRANCH).trim()).toBe(
      `${BOT_IDENTITY.name} <${BOT_IDENTITY.email}>|ottr: record 1 rotated certificate(s)`,
    );

    expect(emulator.pulls).toHaveLength(1);
    const pull = emulator.pulls[0]!;
    expect(pull).toMatchObject({
      head: BRANCH,
      base: 'main',
      state: 'open',
      labels: ['ottr', 'certificates'],
    });
    expect(pull.title).toBe('ottr: record 1 rotated certificate (1 failed)');
    expect(pull.body).toContain('`fw-sfo1-01`');
    expect(pull.body).toContain('| `lb-sfo1-01` | precheck | `device_unreachable` |');
    expect(pull.body).toContain(RUN_URL);
    // The report job's own checkout is left as it was.
    expect(git(lab.checkout, 'status', '--porcelain')).toBe('');
  });

  it('changes nothing when run again with the same results', async () => {
    const before = git(lab.bare, 'rev-parse', BRANCH).trim();
    const requests = emulator.requests.length;
    const outcome = await publish([
      rotated('fw-sfo1-01', '2027-02-21T06:00:00Z'),
      failedResult('lb-sfo1-01'),
    ]);
    expect(outcome).toMatchObject({ action: 'unchanged', number: 1, commit: before });
    expect(git(lab.bare, 'rev-parse', BRANCH).trim()).toBe(before);
    expect(emulator.pulls).toHaveLength(1);
    const writes = emulator.requests.slice(requests).filter((r) => r.method !== 'GET');
    expect(writes).toEqual([]);
  });

  it('updates the pull request with new results and keeps the unmerged ones of the earlier run', async () => {
    const outcome = await publish([rotated('fw-sfo1-02', '2027-03-01T00:00:00Z')]);
    expect(outcome).toMatchObject({ action: 'updated', number: 1, carriedOver: ['fw-sfo1-01'] });
    expect(outcome.changedFiles).toEqual([FW1, FW2]);
    expect(parse(show(lab, BRANCH, FW1)).certificate.not_after).toBe('2027-02-21T06:00:00Z');
    expect(parse(show(lab, BRANCH, FW2)).certificate.not_after).toBe('2027-03-01T00:00:00Z');
    expect(emulator.pulls).toHaveLength(1);
    expect(emulator.pulls[0]!.title).toBe('ottr: record 2 rotated certificates');
    expect(emulator.pulls[0]!.body).toContain('not merged yet, for: `fw-sfo1-01`');
    expect(
      emulator.requests.some((r) => r.method === 'PATCH' && r.path === `/repos/${OWNER}/${REPO}/pulls/1`),
    ).toBe(true);
  });

  it('rebuilds on a default branch that moved since the plan: the diff is only the certificate blocks', async () => {
    // A colleague edits a rotated device's file and adds a device while the rotation runs.
    const edited = readFileSync(join(lab.colleague, FW1), 'utf8').replace(
      'owner: netops@example.com',
      'owner: firewall-team@example.com',
    );
    writeFileSync(join(lab.colleague, FW1), edited);
    git(lab.colleague, 'commit', '--quiet', '-am', 'fw-sfo1-01 changes owner');
    git(lab.colleague, 'push', '--quiet', 'origin', 'main');
    const mainTip = git(lab.bare, 'rev-parse', 'main').trim();

    const results = [rotated('fw-sfo1-02', '2027-03-01T00:00:00Z')];
    const outcome = await publish(results);
    expect(outcome.action).toBe('updated');
    expect(git(lab.bare, 'rev-parse', `${BRANCH}^`).trim()).toBe(mainTip);

    const diff = git(lab.bare, 'diff', '--unified=0', `main...${BRANCH}`);
    const changedLines = diff
      .split('\n')
      .filter((l) => /^[+-]/.test(l) && !/^(\+\+\+|---) /.test(l))
      .map((l) => l.slice(1));
    expect(changedLines.length).toBeGreaterThan(0);
    for (const line of changedLines)
      expect(line).toMatch(/^ {2}(not_before|not_after|serial|sha256_fingerprint|rotated_at|issuer): /);
    const branchDevice = parse(show(lab, BRANCH, FW1));
    expect(branchDevice.owner).toBe('firewall-team@example.com');
    expect(branchDevice.certificate.not_after).toBe('2027-02-21T06:00:00Z');
    const { certificate: _a, ...branchRest } = branchDevice;
    const { certificate: _b, ...mainRest } = parse(show(lab, 'main', FW1));
    expect(branchRest).toEqual(mainRest);
  });

  it('refuses to overwrite a branch someone pushed to after it was read (lease)', async () => {
    const results = [rotated('fw-sfo1-02', '2027-04-01T00:00:00Z')];
    const reapply = async (dir: string) => {
      git(lab.colleague, 'fetch', '--quiet', 'origin');
      git(lab.colleague, 'push', '--quiet', '--force', 'origin', `origin/main:refs/heads/${BRANCH}`);
      return reapplyResults(results)(dir);
    };
    await expect(publish(results, { reapply })).rejects.toBeInstanceOf(GitError);
    expect(git(lab.bare, 'rev-parse', BRANCH).trim()).toBe(git(lab.bare, 'rev-parse', 'main').trim());
  });

  it('reports no changes once the pull request is merged and nothing new was rotated', async () => {
    await publish([
      rotated('fw-sfo1-02', '2027-03-01T00:00:00Z'),
      rotated('fw-sfo1-01', '2027-02-21T06:00:00Z'),
    ]);
    git(lab.colleague, 'fetch', '--quiet', 'origin');
    git(lab.colleague, 'push', '--quiet', 'origin', `origin/${BRANCH}:refs/heads/main`);
    emulator.pulls[0]!.state = 'closed';
    const requests = emulator.requests.length;
    const outcome = await publish([
      rotated('fw-sfo1-01', '2027-02-21T06:00:00Z'),
      failedResult('lb-sfo1-01'),
    ]);
    expect(outcome).toEqual({ action: 'no-changes', branch: BRANCH, changedFiles: [], carriedOver: [] });
    expect(emulator.requests.length).toBe(requests);
  });
});

describe('publishRotations on a fresh repository', () => {
  let lab: Lab;
  beforeAll(() => {
    lab = makeLab();
    emulator.addRepo(OWNER, 'fresh', { gitDir: lab.bare, autoMergeAllowed: false });
    emulator.addRepo(OWNER, 'automerge', { gitDir: lab.bare });
  });
  afterAll(() => rmSync(lab.dir, { recursive: true, force: true }));

  const options = (repo: string, results: RotationResult[], branch: string) => ({
    repoDir: lab.checkout,
    defaultBranch: 'main',
    branch,
    results,
    reapply: reapplyResults(results),
    octokit,
    owner: OWNER,
    repo,
    autoMerge: true as const,
  });

  it('opens no pull request and pushes no branch when only failures came back', async () => {
    const outcome = await publishRotations(options('fresh', [failedResult('fw-sfo1-01')], 'ottr/none'));
    expect(outcome.action).toBe('no-changes');
    expect(git(lab.bare, 'branch', '--list', 'ottr/none').trim()).toBe('');
    expect(emulator.pulls.filter((p) => p.repo === `${OWNER}/fresh`)).toEqual([]);
  });

  it('enables auto-merge where the repository allows it, and reports why not elsewhere', async () => {
    const results = [rotated('fw-sfo1-01', '2027-02-21T06:00:00Z')];
    const allowed = await publishRotations(options('automerge', results, 'ottr/auto'));
    expect(allowed.autoMerge).toEqual({ enabled: true });
    expect(emulator.pulls.find((p) => p.repo === `${OWNER}/automerge`)!.auto_merge).toEqual({
      merge_method: 'squash',
    });

    const refused = await publishRotations(options('fresh', results, 'ottr/refused'));
    expect(refused.action).toBe('created');
    expect(refused.autoMerge).toEqual({
      enabled: false,
      reason: expect.stringContaining('Auto merge is not allowed for this repository'),
    });
  });
});

describe('GitHub REST emulator', () => {
  it('answers like GitHub: auth required, 404 for unknown repos, 422 for a duplicate pull request', async () => {
    const lab = makeLab();
    try {
      emulator.addRepo(OWNER, 'dup', { gitDir: lab.bare });
      git(lab.checkout, 'push', '--quiet', 'origin', 'main:refs/heads/feature');
      const anonymous = await fetch(`${emulator.url}/repos/${OWNER}/dup/pulls`);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toMatchObject({ message: 'Requires authentication' });
      await expect(octokit.rest.pulls.list({ owner: OWNER, repo: 'nope' })).rejects.toMatchObject({
        status: 404,
      });
      const create = () =>
        octokit.rest.pulls.create({ owner: OWNER, repo: 'dup', head: 'feature', base: 'main', title: 't' });
      await create();
      await expect(create()).rejects.toMatchObject({
        status: 422,
        response: {
          data: {
            message: 'Validation Failed',
            errors: [
              {
                resource: 'PullRequest',
                code: 'custom',
                message: 'A pull request already exists for acme:feature.',
              },
            ],
          },
        },
      });
      await expect(
        octokit.rest.pulls.create({ owner: OWNER, repo: 'dup', head: 'missing', base: 'main', title: 't' }),
      ).rejects.toMatchObject({ status: 422 });
      const bad = getOctokit('wrong', { baseUrl: emulator.url });
      await expect(bad.rest.pulls.list({ owner: OWNER, repo: 'dup' })).rejects.toMatchObject({ status: 401 });
    } finally {
      rmSync(lab.dir, { recursive: true, force: true });
    }
  });
});

describe('git credentials', () => {
  it('sends the token once, as basic auth from the environment, replacing a header the checkout left', async () => {
    const seen: string[][] = [];
    const server = createServer((req, res) => {
      const values: string[] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        if (req.rawHeaders[i]!.toLowerCase() === 'authorization') values.push(req.rawHeaders[i + 1]!);
      seen.push(values);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const serverUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'ottr-git-auth-'));
    try {
      git(dir, 'init', '--quiet');
      git(dir, 'config', `http.${serverUrl}/.extraheader`, 'AUTHORIZATION: basic b2xkOnRva2Vu');
      const masked: string[] = [];
      const client = new Git(dir, {
        auth: { token: 'ghs_labtoken', serverUrl },
        onSecret: (s) => masked.push(s),
      });
      await expect(client.remoteBranchSha(`${serverUrl}/acme/network.git`, 'main')).rejects.toBeInstanceOf(
        GitError,
      );
      const expected = `basic ${Buffer.from('x-access-token:ghs_labtoken').toString('base64')}`;
      expect(seen.length).toBeGreaterThan(0);
      for (const values of seen) expect(values).toEqual([expected]);
      expect(masked).toEqual(['ghs_labtoken', expected.slice('basic '.length)]);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
