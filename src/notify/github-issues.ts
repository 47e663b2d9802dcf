/**
 * One open GitHub issue per device whose rotation keeps failing. The issue is found again by a hidden marker in
 * its body (`<!-- ottr-device: NAME -->`, the title as a fallback) among the open issues carrying
 * FAILURE_LABEL: a first failure opens it, a repeated failure comments on it, a successful rotation comments and
 * closes it. Dry runs are ignored: they install nothing, so they neither raise nor settle anything.
 */

import type { GitHubClient } from '../github/github-client.ts';
import { ensureLabel } from '../github/labels.ts';
import { missingPermissionHint, withRateLimitRetries } from '../github/retry.ts';
import type { RotationResult } from '../model/results.ts';
import type { Device } from '../model/types.ts';
import { escapeTableCell, formatExpiry, markdownLink } from '../util/markdown-escape.ts';
import { describeRollback } from './slack.ts';

export const FAILURE_LABEL = 'ottr-rotation-failure';
const SYSTEM_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const MARKER = /<!-- ottr-device: ([a-z0-9][a-z0-9._-]{0,62}) -->/;
const MAX_MESSAGE = 4000;

/** How FAILURE_LABEL is created when the repository does not have it yet. */
const FAILURE_LABEL_SPEC = {
  name: FAILURE_LABEL,
  color: 'b60205',
  description: 'Ottr could not rotate this device certificate',
};

/** GitHub answers 410 "Issues are disabled for this repo" when Settings → Features → Issues is off. */
function issuesDisabled(error: unknown): boolean {
  return (error as { status?: unknown } | null)?.status === 410;
}

const ISSUES_DISABLED_MESSAGE =
  'issues are disabled for this repository (GitHub answered 410): no failure issue was opened, commented or closed; enable Settings → General → Features → Issues or set settings.notifications.github_issues to false';

export function failureIssueTitle(systemName: string): string {
  return `ottr: rotation failing for ${systemName}`;
}

export function deviceMarker(systemName: string): string {
  return `<!-- ottr-device: ${systemName} -->`;
}

export interface IssueSyncOptions {
  octokit: GitHubClient;
  owner: string;
  repo: string;
  results: readonly RotationResult[];
  /** The inventory, for the device's details in a new issue. */
  devices?: readonly Device[];
  /** Labels added to new issues besides FAILURE_LABEL (settings.notifications.labels). */
  labels?: readonly string[];
  runUrl?: string;
}

export interface IssueAction {
  device: string;
  number: number;
}

export interface IssueSyncSummary {
  opened: IssueAction[];
  commented: IssueAction[];
  closed: IssueAction[];
  /** What could not be done; the other devices were still handled. */
  errors: { device: string; message: string }[];
}

/** A fenced block that the text cannot close early, whatever backticks it holds. */
function fenced(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  const clipped = text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
  return `${fence}text\n${clipped}\n${fence}`;
}

function runLink(result: RotationResult, runUrl: string | undefined): string {
  return markdownLink('this run', result.run_url ?? runUrl) ?? 'a run';
}

function errorLine(result: RotationResult): string {
  const phase = result.error?.phase ? `in phase \`${escapeTableCell(result.error.phase)}\`` : '';
  const cls = result.error?.class ? `with \`${escapeTableCell(result.error.class)}\`` : '';
  return [phase, cls].filter(Boolean).join(' ');
}

function issueBody(result: RotationResult, device: Device | undefined, runUrl: string | undefined): string {
  const rows: [string, string][] = [
    ['Device', `\`${result.system_name}\``],
    ['IP address', device?.ip_address ?? '—'],
    ['Platform', device?.host_platform ?? '—'],
    ['OS version', device?.os_version ?? '—'],
    ['Certificate authority', device?.certificate_authority ?? '—'],
    [
      'Current certificate expires',
      formatExpiry(device?.certificate?.not_after ?? result.previous?.not_after),
    ],
    ['Failed phase', result.error?.phase ?? '—'],
    ['Error class', result.error?.class ?? '—'],
    ['Rollback', describeRollback(result)],
  ];
  return [
    deviceMarker(result.system_name),
    `Rotating the certificate of \`${result.system_name}\` failed ${errorLine(result)} in ${runLink(result, runUrl)}.`,
    `| | |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${k === 'Device' ? v : escapeTableCell(v)} |`).join('\n')}`,
    fenced(result.error?.message ?? 'no error message was recorded'),
    'Later failures are added here as comments. Ottr closes this issue when a rotation of the device succeeds.',
  ].join('\n\n');
}

function repeatComment(result: RotationResult, runUrl: string | undefined): string {
  return [
    `Failed again ${errorLine(result)} in ${runLink(result, runUrl)}.`,
    fenced(result.error?.message ?? 'no error message was recorded'),
    `Rollback: ${escapeTableCell(describeRollback(result))}`,
  ].join('\n\n');
}

function successComment(result: RotationResult, runUrl: string | undefined): string {
  const c = result.certificate;
  const detail = c
    ? `: now serves serial \`${escapeTableCell(c.serial)}\`, expiring ${escapeTableCell(formatExpiry(c.not_after))}`
    : '';
  return `Rotated in ${runLink(result, runUrl)}${detail}. Closing.`;
}

/** The open failure issues by device. With duplicates (made by hand, say) the oldest one is used. */
async function openIssuesByDevice(options: IssueSyncOptions): Promise<Map<string, number>> {
  const issues = await options.octokit.paginate(options.octokit.rest.issues.listForRepo, {
    owner: options.owner,
    repo: options.repo,
    state: 'open',
    labels: FAILURE_LABEL,
    per_page: 100,
  });
  const byDevice = new Map<string, number>();
  const titled = /^ottr: rotation failing for ([a-z0-9][a-z0-9._-]{0,62})$/;
  for (const issue of issues.sort((a, b) => a.number - b.number)) {
    if (issue.pull_request) continue;
    const name = MARKER.exec(issue.body ?? '')?.[1] ?? titled.exec(issue.title)?.[1];
    if (name && !byDevice.has(name)) byDevice.set(name, issue.number);
  }
  return byDevice;
}

/** Opens, comments on and closes failure issues to match this run's results. Never throws. */
export async function syncFailureIssues(options: IssueSyncOptions): Promise<IssueSyncSummary> {
  const summary: IssueSyncSummary = { opened: [], commented: [], closed: [], errors: [] };
  const { octokit, owner, repo } = options;
  withRateLimitRetries(octokit);
  // A device with several results (shards retried, say) is judged by its last one.
  const latest = new Map<string, RotationResult>();
  for (const result of options.results) if (!result.dry_run) latest.set(result.system_name, result);
  const relevant = [...latest.values()].filter((r) => r.status !== 'skipped');
  if (relevant.length === 0) return summary;

  let open: Map<string, number>;
  try {
    open = await openIssuesByDevice(options);
  } catch (error) {
    const message = issuesDisabled(error)
      ? ISSUES_DISABLED_MESSAGE
      : `listing open issues: ${(error as Error).message}`;
    summary.errors.push({ device: '*', message });
    return summary;
  }
  const devices = new Map((options.devices ?? []).map((d) => [d.system_name, d]));
  const labels = [...new Set([FAILURE_LABEL, ...(options.labels ?? [])])];
  let labelEnsured = false;

  for (const result of relevant) {
    const name = result.system_name;
    if (!SYSTEM_NAME.test(name)) {
      summary.errors.push({ device: name, message: 'not a valid system_name; no issue touched' });
      continue;
    }
    const number = open.get(name);
    try {
      if (result.status === 'rotated') {
        if (number === undefined) continue;
        await octokit.rest.issues.createComment({
          owner,
          repo,
          issue_number: number,
          body: successComment(result, options.runUrl),
        });
        await octokit.rest.issues.update({
          owner,
          repo,
          issue_number: number,
          state: 'closed',
          state_reason: 'completed',
        });
        summary.closed.push({ device: name, number });
      } else if (number === undefined) {
        if (!labelEnsured) {
          labelEnsured = true;
          await ensureLabel(octokit, { owner, repo }, FAILURE_LABEL_SPEC).catch((error: unknown) => {
            // GitHub creates a missing label on the issue anyway, only without its color and description.
            if (issuesDisabled(error)) throw error;
          });
        }
        const { data } = await octokit.rest.issues.create({
          owner,
          repo,
          title: failureIssueTitle(name),
          body: issueBody(result, devices.get(name), options.runUrl),
          labels,
        });
        summary.opened.push({ device: name, number: data.number });
      } else {
        await octokit.rest.issues.createComment({
          owner,
          repo,
          issue_number: number,
          body: repeatComment(result, options.runUrl),
        });
        summary.commented.push({ device: name, number });
      }
    } catch (error) {
      if (issuesDisabled(error)) {
        summary.errors.push({ device: '*', message: ISSUES_DISABLED_MESSAGE });
        return summary;
      }
      const message = missingPermissionHint(error, 'issues:write')?.message ?? (error as Error).message;
      summary.errors.push({ device: name, message });
    }
  }
  return summary;
}
