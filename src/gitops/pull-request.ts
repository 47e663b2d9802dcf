/**
 * Publishing automated changes as one pull request from one bot branch: `publishBranch` does it for any change
 * (the onboarding proposals of `ottr sync` use it), `publishRotations` for a run's certificate updates (default
 * branch `ottr/rotations`).
 *
 * The branch is rebuilt on every run from the newest default branch: the results are applied again to a fresh
 * work tree of that tip, so commits that landed on the default branch while devices were rotating are kept and
 * the pull request's diff is exactly the `certificate:` blocks. Updates the branch already carried from earlier
 * runs whose pull request is not merged yet are carried over, so a second run never drops the first run's
 * expiries. The push is guarded by `--force-with-lease` on the branch tip seen at the start.
 *
 * Token choice: a pull request opened or pushed with the workflow's GITHUB_TOKEN triggers no workflows (no
 * checks, so required checks never pass and auto-merge never fires). Use a GitHub App installation token
 * (actions/create-github-app-token) for both the push and the API, and fall back to GITHUB_TOKEN, accepting that
 * a person then has to start the checks (for example by closing and reopening the pull request).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import type { GitHubClient } from '../github/github-client.ts';
import { missingPermissionHint, withRateLimitRetries } from '../github/retry.ts';
import type { RotationResult } from '../model/results.ts';
import type { CertificateRecord } from '../model/types.ts';
import { loadRepository } from '../repository/load.ts';
import { writeFileAtomic } from '../util/files.ts';
import { retry } from '../util/poll.ts';
import { applyCertificate, applyResults } from './apply-results.ts';
import { Git, type GitOptions } from './git.ts';
import { renderPullRequest } from './pr-body.ts';

export const DEFAULT_ROTATIONS_BRANCH = 'ottr/rotations';

export type MergeMethod = 'MERGE' | 'SQUASH' | 'REBASE';

export interface PublishOptions {
  /** A clone of the repository (the report job's checkout); it is not modified apart from fetched refs. */
  repoDir: string;
  remote?: string;
  defaultBranch: string;
  branch?: string;
  /**
   * Applies the run's results to the device files under `dir` (a fresh work tree of the newest default branch)
   * and returns the paths it changed, relative to `dir` or absolute. `reapplyResults(results)` is one.
   */
  reapply: (dir: string) => Promise<string[]>;
  results: readonly RotationResult[];
  octokit: GitHubClient;
  owner: string;
  repo: string;
  labels?: readonly string[];
  /** Ask GitHub to merge once checks pass (GraphQL enablePullRequestAutoMerge); true means SQUASH. */
  autoMerge?: boolean | MergeMethod;
  runUrl?: string;
  /** Credentials for the push; without them git uses whatever the clone is configured with. */
  git?: GitOptions;
}

export interface PublishResult {
  action: 'created' | 'updated' | 'unchanged' | 'no-changes';
  branch: string;
  number?: number;
  url?: string;
  /** The branch's commit (also for `unchanged`, where it is the tip already on the remote). */
  commit?: string;
  /** Every path the branch changes compared with the default branch. */
  changedFiles: string[];
  /** Devices whose update came from the branch's earlier content rather than this run's results. */
  carriedOver: string[];
  autoMerge?: { enabled: boolean; reason?: string };
}

function toRepoPath(dir: string, path: string): string {
  const absolute = isAbsolute(path) ? path : resolve(dir, path);
  return relative(dir, absolute).split(sep).join('/');
}

/** The `reapply` for `publishRotations`: what `ottr apply-results` does, on the given work tree. */
export function reapplyResults(results: readonly RotationResult[]): (dir: string) => Promise<string[]> {
  return async (dir) => {
    const repository = await loadRepository(dir);
    const report = applyResults(
      dir,
      new Map(repository.records.map((r) => [r.system_name, r.file])),
      results,
    );
    if (report.problems.length > 0)
      throw new Error(report.problems.map((p) => `${p.file}: ${p.message}`).join('; '));
    return report.updated.map((u) => u.file);
  };
}

function certificateIn(text: string): { systemName?: string; record?: CertificateRecord } {
  try {
    const doc = parse(text, { schema: 'core' }) as Record<string, unknown> | null;
    const certificate = doc?.certificate as CertificateRecord | undefined;
    const systemName = typeof doc?.system_name === 'string' ? doc.system_name : undefined;
    const valid =
      certificate &&
      typeof certificate.not_after === 'string' &&
      !Number.isNaN(Date.parse(certificate.not_after));
    return { ...(systemName ? { systemName } : {}), ...(valid ? { record: certificate } : {}) };
  } catch {
    return {};
  }
}

/**
 * Re-applies, on the fresh work tree, every certificate block the previous branch tip holds that is newer than
 * the one on the new base. Only the `certificate:` block moves over, so anything else the default branch changed
 * in the same file stays; a device deleted or moved on the default branch is left alone.
 */
async function carryOverCertificates(
  worktree: Git,
  previous: string,
  base: string,
): Promise<{ paths: string[]; devices: string[] }> {
  const listed = await worktree.output([
    'diff',
    '--name-only',
    '-z',
    '--no-renames',
    base,
    previous,
    '--',
    'inventory',
  ]);
  const paths: string[] = [];
  const devices: string[] = [];
  for (const path of listed.split('\0').filter((p) => p.endsWith('.yaml') || p.endsWith('.yml'))) {
    let freshText: string;
    try {
      freshText = readFileSync(join(worktree.dir, path), 'utf8');
    } catch {
      continue;
    }
    const previousText = await worktree.output(['show', `${previous}:${path}`]).catch(() => undefined);
    if (previousText === undefined) continue;
    const carried = certificateIn(previousText);
    const fresh = certificateIn(freshText);
    if (!carried.record) continue;
    if (fresh.record && Date.parse(fresh.record.not_after) >= Date.parse(carried.record.not_after)) continue;
    let updated: string | undefined;
    try {
      updated = applyCertificate(freshText, carried.record);
    } catch {
      continue;
    }
    if (updated === undefined) continue;
    writeFileAtomic(join(worktree.dir, path), updated);
    paths.push(path);
    devices.push(carried.systemName ?? path);
  }
  return { paths, devices };
}

function commitMessage(
  results: readonly RotationResult[],
  carried: string[],
  runUrl: string | undefined,
): string {
  const rotated = results.filter((r) => r.status === 'rotated' && r.certificate);
  const lines = [`ottr: record ${rotated.length + carried.length} rotated certificate(s)`, ''];
  for (const r of rotated) lines.push(`- ${r.system_name}: expires ${r.certificate!.not_after}`);
  for (const name of carried) lines.push(`- ${name}: carried over from an earlier run`);
  if (runUrl) lines.push('', `Run: ${runUrl}`);
  return lines.join('\n');
}

function httpStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

type PullRequest = { number: number; html_url: string; node_id: string; title: string; body: string | null };

async function findOpenPullRequest(
  options: Pick<BranchPublishOptions, 'octokit' | 'owner' | 'repo' | 'defaultBranch'>,
  branch: string,
): Promise<PullRequest | undefined> {
  const { octokit, owner, repo, defaultBranch } = options;
  const { data } = await octokit.rest.pulls.list({
    owner,
    repo,
    state: 'open',
    head: `${owner}:${branch}`,
    base: defaultBranch,
    per_page: 10,
  });
  return data[0];
}

const ACTIONS_MAY_NOT_CREATE_PULL_REQUESTS = /not permitted to create or approve pull requests/i;

/**
 * Right after a push GitHub may not see the new head yet and answers 422 "No commits between <base> and <head>"
 * (or `field: head, code: invalid`); a few short tries later it does.
 */
function headNotVisibleYet(error: unknown): boolean {
  const e = error as {
    status?: number;
    message?: string;
    response?: { data?: { errors?: { message?: string; field?: string; code?: string }[] } };
  } | null;
  if (e?.status !== 422) return false;
  const errors = e.response?.data?.errors ?? [];
  return (
    /No commits between/i.test(e.message ?? '') ||
    errors.some(
      (x) => /No commits between/i.test(x.message ?? '') || (x.field === 'head' && x.code === 'invalid'),
    )
  );
}

/** pulls.create with its failures turned into what the person reading the log must do. */
async function createPullRequest(
  options: Pick<BranchPublishOptions, 'octokit' | 'owner' | 'repo' | 'defaultBranch'>,
  branch: string,
  text: { title: string; body: string },
) {
  const { octokit, owner, repo } = options;
  try {
    return await retry(
      () =>
        octokit.rest.pulls.create({
          owner,
          repo,
          head: branch,
          base: options.defaultBranch,
          title: text.title,
          body: text.body,
          maintainer_can_modify: false,
        }),
      { attempts: 4, baseMs: 250, capMs: 2000, retryable: headNotVisibleYet },
    );
  } catch (error) {
    if (httpStatus(error) === 403 && ACTIONS_MAY_NOT_CREATE_PULL_REQUESTS.test((error as Error).message))
      throw Object.assign(
        new Error(
          `GitHub refused to open the pull request for ${branch}: the repository (or its organisation) does not let GitHub Actions create pull requests. Enable Settings → Actions → General → Workflow permissions → "Allow GitHub Actions to create and approve pull requests", or publish with a GitHub App token. (${(error as Error).message})`,
        ),
        { status: 403, cause: error },
      );
    throw error;
  }
}

async function createOrUpdatePullRequest(
  options: Pick<BranchPublishOptions, 'octokit' | 'owner' | 'repo' | 'defaultBranch'>,
  branch: string,
  text: { title: string; body: string },
  existing: PullRequest | undefined,
): Promise<{ pull: PullRequest; created: boolean }> {
  const { octokit, owner, repo } = options;
  if (!existing) {
    try {
      const { data } = await createPullRequest(options, branch, text);
      return { pull: data, created: true };
    } catch (error) {
      // Another run opened it in the meantime (GitHub answers 422 "A pull request already exists").
      if (httpStatus(error) !== 422) throw error;
      existing = await findOpenPullRequest(options, branch);
      if (!existing) throw error;
    }
  }
  if (existing.title === text.title && (existing.body ?? '') === text.body)
    return { pull: existing, created: false };
  const { data } = await octokit.rest.pulls.update({
    owner,
    repo,
    pull_number: existing.number,
    title: text.title,
    body: text.body,
  });
  return { pull: data, created: false };
}

const ENABLE_AUTO_MERGE = `mutation($pullRequestId: ID!, $mergeMethod: PullRequestMergeMethod!) {
  enablePullRequestAutoMerge(input: { pullRequestId: $pullRequestId, mergeMethod: $mergeMethod }) {
    pullRequest { number }
  }
}`;

/**
 * Optional: GitHub merges the pull request once its required checks pass. Needs "Allow auto-merge" in the
 * repository settings, branch protection with required checks, and a token whose pushes trigger those checks
 * (an App token, not GITHUB_TOKEN). Failure is reported, never thrown: the pull request is there either way.
 */
async function enableAutoMerge(
  octokit: GitHubClient,
  pull: PullRequest,
  method: MergeMethod,
): Promise<{ enabled: boolean; reason?: string }> {
  try {
    await octokit.graphql(ENABLE_AUTO_MERGE, { pullRequestId: pull.node_id, mergeMethod: method });
    return { enabled: true };
  } catch (error) {
    return { enabled: false, reason: (error as Error).message };
  }
}

/** The text of a pull request: its title and Markdown body. */
export interface PullRequestText {
  title: string;
  body: string;
}

/** What `apply` gets besides the work tree's directory. */
export interface ApplyContext {
  /** The fresh work tree (a detached checkout of `base`). */
  worktree: Git;
  /** The newest default branch's commit the work tree starts from. */
  base: string;
  /** The bot branch's tip before this run, when the branch exists: what the push's lease expects. */
  previous?: string;
}

export interface BranchPublishOptions {
  /** A clone of the repository; it is not modified apart from fetched refs. */
  repoDir: string;
  remote?: string;
  defaultBranch: string;
  /** The bot branch, rebuilt on every run from the newest default branch. */
  branch: string;
  /**
   * Writes this run's changes into `dir` (a fresh work tree of the newest default branch) and returns the paths
   * it changed, relative to `dir` or absolute. Nothing else in the work tree is committed.
   */
  apply: (dir: string, context: ApplyContext) => Promise<string[]>;
  /** The commit message; a function is called after `apply`, so it can describe what `apply` found. */
  commitMessage: string | (() => string);
  /** The pull request's title and body; a function is called after `apply`. */
  pullRequest: PullRequestText | (() => PullRequestText);
  octokit: GitHubClient;
  owner: string;
  repo: string;
  labels?: readonly string[];
  /** Ask GitHub to merge once checks pass (GraphQL enablePullRequestAutoMerge); true means SQUASH. */
  autoMerge?: boolean | MergeMethod;
  /** Credentials for the push; without them git uses whatever the clone is configured with. */
  git?: GitOptions;
}

export type BranchPublishResult = Omit<PublishResult, 'carriedOver'>;

/**
 * Rebuilds `branch` on the newest default branch with what `apply` writes, pushes it with a lease on the tip
 * seen at the start and opens, updates or leaves alone its pull request: `created`, `updated`, `unchanged`
 * (same files as the branch already holds and its pull request open: no write at all) or `no-changes`
 * (`apply` changed nothing: no branch, no pull request). Throws only when git or the GitHub API fails.
 */
export async function publishBranch(options: BranchPublishOptions): Promise<BranchPublishResult> {
  const remote = options.remote ?? 'origin';
  const { branch } = options;
  const git = new Git(options.repoDir, options.git);
  withRateLimitRetries(options.octokit);

  const branchExists = (await git.remoteBranchSha(remote, branch)) !== undefined;
  await git.fetch(remote, branchExists ? [options.defaultBranch, branch] : [options.defaultBranch]);
  const base = await git.revParse(`refs/remotes/${remote}/${options.defaultBranch}`);
  if (!base) throw new Error(`the default branch ${options.defaultBranch} is not on ${remote}`);
  // The lease: the tip just fetched. Anyone pushing to the branch after this makes our push fail.
  const previous = branchExists ? await git.revParse(`refs/remotes/${remote}/${branch}`) : undefined;

  const worktreeDir = mkdtempSync(join(tmpdir(), 'ottr-branch-'));
  rmSync(worktreeDir, { recursive: true });
  const worktree = await git.addWorktree(worktreeDir, base);
  let commit: string | undefined;
  let changedFiles: string[];
  try {
    const context: ApplyContext = { worktree, base, ...(previous ? { previous } : {}) };
    const applied = (await options.apply(worktree.dir, context)).map((p) => toRepoPath(worktree.dir, p));
    const paths = [...new Set(applied)].sort();
    const message =
      typeof options.commitMessage === 'function' ? options.commitMessage() : options.commitMessage;
    commit = await worktree.commit(paths, message);
    changedFiles = commit
      ? (await worktree.output(['diff', '--name-only', '-z', base, commit])).split('\0').filter(Boolean)
      : [];
  } finally {
    await git.removeWorktree(worktreeDir).catch(() => rmSync(worktreeDir, { recursive: true, force: true }));
  }

  if (!commit) return { action: 'no-changes', branch, changedFiles: [] };

  const unchanged = previous !== undefined && (await git.sameTree(commit, previous));
  if (unchanged) commit = previous;
  else await git.pushWithLease(remote, commit!, branch, previous);

  const text = typeof options.pullRequest === 'function' ? options.pullRequest() : options.pullRequest;
  try {
    return await openPullRequest(options, { branch, text, unchanged, changedFiles, commit });
  } catch (error) {
    throw missingPermissionHint(error, 'pull-requests:write') ?? error;
  }
}

/** The API half of `publishBranch`, once the branch is pushed (or found unchanged). */
async function openPullRequest(
  options: BranchPublishOptions,
  pushed: {
    branch: string;
    text: PullRequestText;
    unchanged: boolean;
    changedFiles: string[];
    commit: string | undefined;
  },
): Promise<BranchPublishResult> {
  const { branch, text, unchanged, changedFiles, commit } = pushed;
  const existing = await findOpenPullRequest(options, branch);
  // Same content as last time and its pull request still open: leave it exactly as it is.
  if (unchanged && existing) {
    return {
      action: 'unchanged',
      branch,
      number: existing.number,
      url: existing.html_url,
      changedFiles,
      ...(commit ? { commit } : {}),
    };
  }
  const { pull, created } = await createOrUpdatePullRequest(options, branch, text, existing);
  const labels = [...new Set(options.labels ?? [])];
  if (labels.length > 0)
    await options.octokit.rest.issues.addLabels({
      owner: options.owner,
      repo: options.repo,
      issue_number: pull.number,
      labels,
    });
  const result: BranchPublishResult = {
    action: created ? 'created' : 'updated',
    branch,
    number: pull.number,
    url: pull.html_url,
    changedFiles,
    ...(commit ? { commit } : {}),
  };
  if (options.autoMerge)
    result.autoMerge = await enableAutoMerge(
      options.octokit,
      pull,
      options.autoMerge === true ? 'SQUASH' : options.autoMerge,
    );
  return result;
}

/**
 * Rebuilds the rotations branch on the newest default branch with this run's certificate updates (plus those
 * an unmerged earlier run left on it), pushes it with a lease and opens or updates its pull request.
 * Returns what it did; throws only when git or the GitHub API fails.
 */
export async function publishRotations(options: PublishOptions): Promise<PublishResult> {
  let carriedOver: string[] = [];
  const rotatedNow = new Set(options.results.filter((r) => r.status === 'rotated').map((r) => r.system_name));
  const published = await publishBranch({
    repoDir: options.repoDir,
    ...(options.remote ? { remote: options.remote } : {}),
    defaultBranch: options.defaultBranch,
    branch: options.branch ?? DEFAULT_ROTATIONS_BRANCH,
    async apply(dir, { worktree, base, previous }) {
      const carried = previous
        ? await carryOverCertificates(worktree, previous, base)
        : { paths: [], devices: [] };
      const reapplied = (await options.reapply(dir)).map((p) => toRepoPath(dir, p));
      carriedOver = carried.devices.filter((name) => !rotatedNow.has(name));
      return [...carried.paths, ...reapplied];
    },
    commitMessage: () => commitMessage(options.results, carriedOver, options.runUrl),
    pullRequest: () =>
      renderPullRequest(options.results, {
        carriedOver,
        ...(options.runUrl ? { runUrl: options.runUrl } : {}),
      }),
    octokit: options.octokit,
    owner: options.owner,
    repo: options.repo,
    ...(options.labels ? { labels: options.labels } : {}),
    ...(options.autoMerge ? { autoMerge: options.autoMerge } : {}),
    ...(options.git ? { git: options.git } : {}),
  });
  if (published.action === 'no-changes') return { ...published, carriedOver: [] };
  const { autoMerge, ...rest } = published;
  return { ...rest, carriedOver, ...(autoMerge ? { autoMerge } : {}) };
}
