import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import { certificateRecord, readResults, resultFiles } from '../gitops/apply-results.ts';
import { withPendingCertificates } from '../gitops/pending.ts';
import { renderPullRequest } from '../gitops/pr-body.ts';
import {
  DEFAULT_ROTATIONS_BRANCH,
  type MergeMethod,
  type PublishResult,
  publishRotations,
  reapplyResults,
} from '../gitops/pull-request.ts';
import type { DeviceRecord } from '../model/device-file.ts';
import { loadRepository } from '../model/repository.ts';
import type { CertificateRecord, Device, Settings } from '../model/types.ts';
import { type EventOutcome, sendRotationEvents } from '../notify/events.ts';
import { type IssueSyncSummary, syncFailureIssues } from '../notify/issues.ts';
import { notifySlack, type SlackNotifyOutcome } from '../notify/slack.ts';
import type { RotationResult } from '../rotate/result.ts';
import { rotationSummary } from '../rotate/summary.ts';
import { DASHBOARD_FILE, fleetStatus, renderDashboard } from '../status/index.ts';
import { writeFileAtomic } from '../util/files.ts';
import { flag, githubContext, githubToken, list, secretEnvironment, text } from './inputs.ts';

/** The report action's inputs and the run's context, read once. */
export interface ReportSettings {
  root: string;
  resultsDir: string;
  /** Where the fleet dashboard (index.html) is written, relative to root. */
  dashboardDir: string;
  token: string;
  branch: string;
  defaultBranch: string;
  labels: string[];
  autoMerge: false | MergeMethod;
  dryRun: boolean;
  owner: string;
  repo: string;
  apiUrl: string;
  serverUrl: string;
  runUrl?: string;
}

export function reportSettings(env: NodeJS.ProcessEnv): ReportSettings {
  const github = githubContext(env);
  const autoMerge = text('auto-merge').toLowerCase();
  if (!['', 'false', 'true', 'merge', 'squash', 'rebase'].includes(autoMerge))
    throw new Error(`input auto-merge must be false, true, merge, squash or rebase, not "${autoMerge}"`);
  const dryRun = flag('dry-run');
  return {
    root: text('root') || '.',
    resultsDir: text('results-dir') || 'ottr-results',
    dashboardDir: text('dashboard-dir') || 'ottr-dashboard',
    token: githubToken(dryRun),
    branch: text('branch') || DEFAULT_ROTATIONS_BRANCH,
    defaultBranch: text('base') || github.eventDefaultBranch,
    labels: list('labels'),
    autoMerge:
      autoMerge === '' || autoMerge === 'false'
        ? false
        : autoMerge === 'true'
          ? 'SQUASH'
          : (autoMerge.toUpperCase() as MergeMethod),
    dryRun,
    owner: github.owner,
    repo: github.repo,
    apiUrl: github.apiUrl,
    serverUrl: github.serverUrl,
    ...(github.runUrl ? { runUrl: github.runUrl } : {}),
  };
}

export interface ReportOutcome {
  results: RotationResult[];
  unreadable: { file: string; message: string }[];
  /** Devices with a result that are no longer in the inventory (removed since the plan): skipped. */
  removed: string[];
  pullRequest?: PublishResult;
  issues?: IssueSyncSummary;
  slack?: SlackNotifyOutcome;
  events?: EventOutcome;
  /** The fleet dashboard written for the artifact (and Pages), as of after this run. */
  dashboard: string;
  summary: string;
}

/**
 * Merges the run's result files, publishes the certificate updates as the rotations pull request, and notifies:
 * one GitHub issue per failing device (closed when it rotates again) and Slack. Notification problems are
 * reported in the outcome, never thrown; a failing push or pull request is.
 */
export async function report(settings: ReportSettings, env: NodeJS.ProcessEnv): Promise<ReportOutcome> {
  const dir = resolve(settings.root, settings.resultsDir);
  const { results, problems: unreadable } = existsSync(dir)
    ? readResults(resultFiles(dir))
    : { results: [], problems: [] };
  const repo = await loadRepository(settings.root);
  const devices: Device[] = repo.records.flatMap((r) => (r.device ? [r.device] : []));
  const notifications = repo.settings?.notifications ?? {};
  const known = new Set(repo.records.map((r) => r.system_name));
  const outcome: ReportOutcome = {
    results,
    unreadable,
    removed: results.filter((r) => !known.has(r.system_name)).map((r) => r.system_name),
    dashboard: '',
    summary: '',
  };

  const octokit = settings.token ? getOctokit(settings.token, { baseUrl: settings.apiUrl }) : undefined;
  if (!settings.dryRun && results.length > 0 && octokit) {
    outcome.pullRequest = await publishRotations({
      repoDir: settings.root,
      defaultBranch: settings.defaultBranch,
      branch: settings.branch,
      reapply: reapplyResults(results),
      results,
      octokit,
      owner: settings.owner,
      repo: settings.repo,
      labels: [...settings.labels, ...(notifications.labels ?? [])],
      ...(settings.autoMerge ? { autoMerge: settings.autoMerge } : {}),
      ...(settings.runUrl ? { runUrl: settings.runUrl } : {}),
      git: { auth: { token: settings.token, serverUrl: settings.serverUrl }, onSecret: core.setSecret },
    });
    if (notifications.github_issues !== false)
      outcome.issues = await syncFailureIssues({
        octokit,
        owner: settings.owner,
        repo: settings.repo,
        results,
        devices,
        labels: notifications.labels ?? [],
        ...(settings.runUrl ? { runUrl: settings.runUrl } : {}),
      });
  }
  const webhookName = notifications.slack_webhook_secret;
  const webhookUrl = webhookName ? env[webhookName] : undefined;
  if (webhookUrl && !settings.dryRun)
    outcome.slack = await notifySlack({
      webhookUrl,
      results,
      devices,
      ...(settings.runUrl ? { runUrl: settings.runUrl } : {}),
    });
  else if (webhookName && !webhookUrl)
    outcome.slack = { sent: false, messages: 0, reason: `the secret ${webhookName} is not set` };
  const events = repo.settings?.events;
  if (events && !settings.dryRun && results.some((r) => r.status === 'rotated')) {
    const url = events.webhook_url_secret ? env[events.webhook_url_secret] : undefined;
    const signingKey = events.webhook_signing_secret ? env[events.webhook_signing_secret] : undefined;
    outcome.events = await sendRotationEvents({
      results,
      ...(events.repository_dispatch && octokit
        ? { dispatch: { octokit, owner: settings.owner, repo: settings.repo } }
        : {}),
      ...(url && signingKey ? { webhook: { url, signingKey } } : {}),
    });
    if (events.webhook_url_secret && !(url && signingKey))
      outcome.events.errors.push({
        device: '*',
        channel: 'webhook',
        message: `the secret ${url ? events.webhook_signing_secret : events.webhook_url_secret} is not set`,
      });
  }
  outcome.dashboard = writeDashboard(settings, repo.records, repo.settings, results);
  outcome.summary = reportSummary(outcome, settings);
  return outcome;
}

/** The fleet as it stands after this run (its rotated certificates counted), as one self-contained page. */
function writeDashboard(
  settings: ReportSettings,
  records: DeviceRecord[],
  fleetSettings: Settings | undefined,
  results: readonly RotationResult[],
): string {
  const byName = new Map(records.map((r) => [r.system_name, r.file]));
  const rotated = new Map<string, CertificateRecord>();
  for (const result of results) {
    const record = certificateRecord(result);
    const file = byName.get(result.system_name);
    if (record && file) rotated.set(file, record);
  }
  withPendingCertificates(records, rotated);
  const now = new Date();
  const path = join(resolve(settings.root, settings.dashboardDir), DASHBOARD_FILE);
  writeFileAtomic(path, renderDashboard(fleetStatus(records, fleetSettings, now).rows, { generatedAt: now }));
  return path;
}

function reportSummary(outcome: ReportOutcome, settings: ReportSettings): string {
  const lines: string[] = ['## Ottr report', ''];
  if (outcome.results.length === 0)
    lines.push('No result files arrived: no rotate job finished a device.', '');
  const pr = outcome.pullRequest;
  if (pr?.url) lines.push(`**Pull request:** [#${pr.number}](${pr.url}) (${pr.action})`, '');
  else if (pr) lines.push(`**Pull request:** none (${pr.action}: nothing to record)`, '');
  else if (settings.dryRun) lines.push('Dry run: nothing recorded, nobody notified.', '');
  const issues = outcome.issues;
  if (issues) {
    const list = (label: string, items: { device: string; number: number }[]) =>
      items.length > 0 ? [`${label}: ${items.map((i) => `${i.device} (#${i.number})`).join(', ')}`] : [];
    const issueLines = [
      ...list('opened', issues.opened),
      ...list('commented', issues.commented),
      ...list('closed', issues.closed),
      ...issues.errors.map((e) => `not updated for ${e.device}: ${e.message}`),
    ];
    if (issueLines.length > 0) lines.push(`**Failure issues** — ${issueLines.join('; ')}`, '');
  }
  if (outcome.slack && (outcome.slack.sent || outcome.results.some((r) => r.error)))
    lines.push(
      `**Slack:** ${outcome.slack.sent ? `${outcome.slack.messages} message(s) sent` : `not sent (${outcome.slack.reason})`}`,
      '',
    );
  const events = outcome.events;
  if (events)
    lines.push(
      `**Events:** ${events.dispatched.length} repository_dispatch, ${events.delivered.length} webhook deliveries${events.errors.length > 0 ? `; not sent: ${events.errors.map((e) => `${e.device} (${e.channel}): ${e.message}`).join('; ')}` : ''}`,
      '',
    );
  for (const u of outcome.unreadable) lines.push(`- ${u.file}: skipped: ${u.message}`);
  for (const name of outcome.removed)
    lines.push(`- ${name}: no longer in the inventory, its result is skipped`);
  if (outcome.results.length > 0) {
    lines.push(rotationSummary(outcome.results));
    if (!pr?.url) lines.push(renderPullRequest(outcome.results).body, '');
  }
  return `${lines.join('\n')}\n`;
}

export async function main(): Promise<void> {
  const env = secretEnvironment(process.env);
  const settings = reportSettings(env);
  const outcome = await report(settings, env);
  const rotated = outcome.results.filter((r) => r.status === 'rotated').length;
  const failed = outcome.results.filter((r) => r.status === 'failed' || r.status === 'rolled_back').length;
  core.setOutput('rotated', String(rotated));
  core.setOutput('failed', String(failed));
  core.setOutput('pull-request-action', outcome.pullRequest?.action ?? 'none');
  core.setOutput('pull-request-number', String(outcome.pullRequest?.number ?? ''));
  core.setOutput('pull-request-url', outcome.pullRequest?.url ?? '');
  core.setOutput('dashboard', outcome.dashboard);
  for (const u of outcome.unreadable) core.warning(`${u.file}: skipped: ${u.message}`);
  for (const name of outcome.removed)
    core.notice(`${name} is no longer in the inventory; its result is skipped`);
  for (const e of outcome.issues?.errors ?? []) core.warning(`failure issue for ${e.device}: ${e.message}`);
  if (outcome.slack && !outcome.slack.sent && failed > 0) core.warning(`Slack: ${outcome.slack.reason}`);
  for (const e of outcome.events?.errors ?? [])
    core.warning(`event ${e.channel} for ${e.device}: ${e.message}`);
  await core.summary.addRaw(outcome.summary).write();
  core.info(
    `${rotated} rotated, ${failed} failed; pull request: ${outcome.pullRequest?.url ?? outcome.pullRequest?.action ?? 'none'}`,
  );
  if (outcome.results.length === 0) core.setFailed('no result files arrived from the rotate jobs');
}
