import { parse } from 'yaml';
import type { GitHubClient } from '../github/github-client.ts';
import { withRateLimitRetries } from '../github/retry.ts';
import type { CertificateRecord } from '../model/types.ts';
import type { DeviceRecord } from '../repository/device-file.ts';
import { Git } from './git.ts';

/** The commit status the report sets on each rotations-branch head it pushes. */
export const ROTATIONS_STATUS_CONTEXT = 'ottr/rotations';
/** Who the report runs as with the workflow's GITHUB_TOKEN; a GitHub App is `<app-slug>[bot]`. */
export const DEFAULT_BOT_LOGIN = 'github-actions[bot]';

/**
 * Whether `sha` carries a successful `ottr/rotations` status created by `botLogin` (GitHub REST
 * repos/list-commit-statuses-for-ref, newest first, paged). Anyone with statuses:write can create a status with
 * that context, so the creator is what counts, never the context alone.
 */
export async function botStatus(
  octokit: GitHubClient,
  target: { owner: string; repo: string; sha: string },
  botLogin: string,
): Promise<{ found: boolean; others: string[] }> {
  const others = new Set<string>();
  withRateLimitRetries(octokit);
  for await (const page of octokit.paginate.iterator(octokit.rest.repos.listCommitStatusesForRef, {
    owner: target.owner,
    repo: target.repo,
    ref: target.sha,
    per_page: 100,
  })) {
    for (const status of page.data) {
      if (status.context !== ROTATIONS_STATUS_CONTEXT) continue;
      const login = status.creator?.login ?? '(unknown)';
      if (login === botLogin && status.state === 'success') return { found: true, others: [] };
      others.add(login);
    }
  }
  return { found: false, others: [...others] };
}

export interface PendingTrust {
  trusted: boolean;
  /** The branch head that was checked (absent when the branch does not exist). */
  sha?: string;
  /** Why the branch is ignored, for a notice (`level` notice) or a warning. */
  message?: string;
  level?: 'notice' | 'warning';
}

/**
 * Whether the unmerged records on `ref` (the rotations branch as fetched) may count: only when its head commit
 * carries the report's own status (`botStatus`). Without a token nothing can be checked and the branch is
 * ignored; so it is when the status is missing or from someone else. Ignoring is safe: those devices are planned
 * from the default branch and at worst rotate again.
 */
export async function pendingTrust(options: {
  root: string;
  ref: string;
  github?: { octokit: GitHubClient; owner: string; repo: string };
  botLogin?: string;
}): Promise<PendingTrust> {
  const sha = await new Git(options.root).revParse(options.ref).catch(() => undefined);
  if (!sha) return { trusted: false };
  const branch = options.ref.replace(/^refs\/(?:remotes\/[^/]+|heads)\//, '');
  const planned =
    'its unmerged certificate records are ignored and those devices are planned from the default branch (at worst they rotate again)';
  if (!options.github)
    return {
      trusted: false,
      sha,
      level: 'notice',
      message: `no github-token: who pushed ${branch} (${sha.slice(0, 12)}) cannot be checked, so ${planned}`,
    };
  const login = options.botLogin || DEFAULT_BOT_LOGIN;
  try {
    const status = await botStatus(options.github.octokit, { ...options.github, sha }, login);
    if (status.found) return { trusted: true, sha };
    const from = status.others.length > 0 ? ` (only from ${status.others.join(', ')})` : '';
    return {
      trusted: false,
      sha,
      level: 'warning',
      message: `${branch} at ${sha.slice(0, 12)} has no ${ROTATIONS_STATUS_CONTEXT} status from ${login}${from}: who pushed it is unknown, so ${planned}`,
    };
  } catch (error) {
    return {
      trusted: false,
      sha,
      level: 'warning',
      message: `the statuses of ${branch} at ${sha.slice(0, 12)} could not be read (${(error as Error).message}), so ${planned}`,
    };
  }
}

/**
 * Certificates recorded on the rotations branch whose pull request is not merged yet, by device file. Without
 * them, a run planned before the merge would see the old expiry and rotate the same devices again. Only files
 * the branch changes are read, and only a `certificate:` block newer than the checkout's counts.
 */
export async function pendingCertificates(
  root: string,
  ref: string,
): Promise<Map<string, CertificateRecord>> {
  const git = new Git(root);
  const pending = new Map<string, CertificateRecord>();
  if (!(await git.revParse(ref).catch(() => undefined))) return pending;
  const changed = await git.output(['diff', '--name-only', '-z', `HEAD...${ref}`, '--', 'inventory']);
  for (const file of changed.split('\0').filter((f) => /\.ya?ml$/.test(f))) {
    const text = await git.output(['show', `${ref}:${file}`]).catch(() => undefined);
    if (text === undefined) continue;
    try {
      const certificate = (parse(text, { schema: 'core' }) as { certificate?: CertificateRecord } | null)
        ?.certificate;
      if (certificate && !Number.isNaN(Date.parse(certificate.not_after))) pending.set(file, certificate);
    } catch {
      // a file the branch broke is the pull request's problem, not the plan's
    }
  }
  return pending;
}

/** Applies pending certificates that are newer than the recorded ones; returns the devices that changed. */
export function withPendingCertificates(
  records: DeviceRecord[],
  pending: ReadonlyMap<string, CertificateRecord>,
): string[] {
  const applied: string[] = [];
  for (const record of records) {
    const newer = pending.get(record.file);
    const device = record.device;
    if (!newer || !device) continue;
    const current = device.certificate?.not_after
      ? Date.parse(device.certificate.not_after)
      : Number.NEGATIVE_INFINITY;
    if (Date.parse(newer.not_after) <= current) continue;
    device.certificate = newer;
    applied.push(record.system_name);
  }
  return applied;
}
