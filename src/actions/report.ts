import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import {
  acceptResults,
  authorityTrust,
  describeRefusal,
  type FoundResult,
  findResults,
  type Refusal,
} from '../gitops/accept-results.ts';
import { certificateRecord } from '../gitops/apply-results.ts';
import { Git, type GitOptions } from '../gitops/git.ts';
import {
  botStatus,
  DEFAULT_BOT_LOGIN,
  ROTATIONS_STATUS_CONTEXT,
  withPendingCertificates,
} from '../gitops/pending.ts';
import { renderPullRequest } from '../gitops/pr-body.ts';
import {
  DEFAULT_ROTATIONS_BRANCH,
  type GitHubClient,
  type MergeMethod,
  type PublishResult,
  publishRotations,
  reapplyResults,
} from '../gitops/pull-request.ts';
import type { RotationResult } from '../model/results.ts';
import type { CertificateRecord, Device, Settings } from '../model/types.ts';
import { type EventOutcome, sendRotationEvents } from '../notify/events.ts';
import { type IssueSyncSummary, syncFailureIssues } from '../notify/issues.ts';
import { notifySlack, type SlackNotifyOutcome } from '../notify/slack.ts';
import type { Plan } from '../plan/plan.ts';
import { REPORT_SECRET_SLOTS } from '../plan/secrets.ts';
import type { DeviceRecord } from '../repository/device-file.ts';
import { loadRepository } from '../repository/load.ts';
import { rotationSummary } from '../rotate/summary.ts';
import { NO_SECRETS, type SecretSource } from '../secrets/source.ts';
import { DASHBOARD_FILE, fleetStatus, renderDashboard } from '../status/index.ts';
import { writeFileAtomic } from '../util/files.ts';
import { flag, githubContext, githubToken, jobSecrets, list, text } from './inputs.ts';

/** The report action's inputs and the run's context, read once. */
export interface ReportSettings {
  root: string;
  /** Searched as `<resultsDir>/ottr-result-<entry id>/` (any depth, `*.json`), relative to root. */
  resultsDir: string;
  /** The plan job's plan.json (artifact ottr-plan), relative to root: which job was given which device. */
  planFile: string;
  /** The plan job's plan_sha256 output: the plan file must be the one the plan job wrote (empty: not checked). */
  planSha256?: string;
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
  runId?: string;
  /** Who this report runs as (the plan trusts its statuses only): `<app-slug>[bot]` for an App token. */
  botLogin?: string;
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
    planFile: text('plan-file') || 'plan.json',
    ...(text('plan-sha256') ? { planSha256: text('plan-sha256').toLowerCase() } : {}),
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
    ...(env.GITHUB_RUN_ID ? { runId: env.GITHUB_RUN_ID } : {}),
    botLogin: text('bot-login') || DEFAULT_BOT_LOGIN,
  };
}

export interface ReportOutcome {
  /** The accepted results (docs/security-records.md): only these are recorded and notified. */
  results: RotationResult[];
  /** Result files not believed: never recorded; warnings, and failures of the run. */
  refused: Refusal[];
  /** Accepted with an adjustment. */
  notes: { system_name: string; message: string }[];
  unreadable: { file: string; message: string }[];
  /** Devices with a result that are no longer in the inventory (removed since the plan): skipped. */
  removed: string[];
  pullRequest?: PublishResult;
  /** Why publishing failed (the report then still notifies, and throws at the end). */
  publishError?: string;
  /** The ottr/rotations commit status on the pushed head, which makes the plan count the branch. */
  recordStatus?: { sha: string; set: boolean; message?: string };
  issues?: IssueSyncSummary;
  slack?: SlackNotifyOutcome;
  events?: EventOutcome;
  /** The fleet dashboard written for the artifact (and Pages), as of after this run. */
  dashboard: string;
  summary: string;
}

/** Thrown by `report` when publishing failed: notifications were sent all the same; `outcome` says what ran. */
export class PublishError extends Error {
  constructor(
    message: string,
    readonly outcome: ReportOutcome,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PublishError';
  }
}

/** plan.json as the plan job wrote it, or why it cannot be used. */
export function readPlanFile(path: string, sha256?: string): { plan: Plan } | { problem: string } {
  let plan: Plan;
  try {
    const bytes = readFileSync(path);
    // Any job of the run can upload artifacts; the plan job's own output says which plan file it wrote.
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== undefined && digest !== sha256)
      return {
        problem: `the plan file ${path} is not the one the plan job wrote (SHA-256 ${digest}, the plan job said ${sha256})`,
      };
    plan = JSON.parse(bytes.toString('utf8')) as Plan;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      problem:
        code === 'ENOENT'
          ? `the plan file ${path} is missing (download the ottr-plan artifact into the report job)`
          : `the plan file ${path} cannot be read: ${code ?? (error as Error).message}`,
    };
  }
  if (
    plan?.version !== 1 ||
    !Array.isArray(plan.matrix?.include) ||
    typeof plan.now !== 'string' ||
    Number.isNaN(Date.parse(plan.now))
  )
    return { problem: `${path} is not an ottr plan (version 1 with now and matrix.include)` };
  return { plan };
}

/**
 * Merges the run's result files, publishes the certificate updates as the rotations pull request, and notifies:
 * one GitHub issue per failing device (closed when it rotates again) and Slack. Only results `acceptResults`
 * believes are recorded or notified; refused ones are in `refused`. Notification problems are reported in the
 * outcome, never thrown. A failing push or pull request is thrown as a `PublishError`, after the failure issues,
 * Slack and events have been sent.
 */
export async function report(
  settings: ReportSettings,
  secrets: SecretSource = NO_SECRETS,
): Promise<ReportOutcome> {
  const dir = resolve(settings.root, settings.resultsDir);
  const { found, problems: unreadable } = existsSync(dir)
    ? findResults(dir)
    : { found: [] as FoundResult[], problems: [] };
  const repo = await loadRepository(settings.root);
  const devices: Device[] = repo.records.flatMap((r) => (r.device ? [r.device] : []));
  const notifications = repo.settings?.notifications ?? {};
  const planRead =
    found.length > 0
      ? readPlanFile(resolve(settings.root, settings.planFile), settings.planSha256)
      : { problem: 'no results' };
  const acceptance = acceptResults(found, {
    ...('plan' in planRead ? { plan: planRead.plan } : { planProblem: planRead.problem }),
    devices: new Map(devices.map((d) => [d.system_name, d])),
    trust: authorityTrust(settings.root, repo.settings),
    now: new Date(),
  });
  const results = acceptance.accepted;
  const outcome: ReportOutcome = {
    results,
    refused: acceptance.refused,
    notes: acceptance.notes,
    unreadable,
    removed: acceptance.removed,
    dashboard: '',
    summary: '',
  };

  const octokit = settings.token ? getOctokit(settings.token, { baseUrl: settings.apiUrl }) : undefined;
  let publishFailure: unknown;
  if (!settings.dryRun && results.length > 0 && octokit) {
    const masked = new Set<string>();
    const gitOptions: GitOptions = {
      auth: { token: settings.token, serverUrl: settings.serverUrl },
      onSecret: (value) => {
        if (!masked.has(value)) core.setSecret(value);
        masked.add(value);
      },
    };
    try {
      // Whether the branch as we find it was the bot's own: only then may what it carries over be vouched for.
      const before = await branchVouched(settings, octokit, gitOptions);
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
        git: gitOptions,
      });
      const recordStatus = await vouchForBranch(settings, octokit, outcome.pullRequest, before);
      if (recordStatus) outcome.recordStatus = recordStatus;
    } catch (error) {
      publishFailure = error;
      outcome.publishError = (error as Error).message;
    }
  }
  if (!settings.dryRun && results.length > 0 && octokit && notifications.github_issues !== false)
    outcome.issues = await syncFailureIssues({
      octokit,
      owner: settings.owner,
      repo: settings.repo,
      results,
      devices,
      labels: notifications.labels ?? [],
      ...(settings.runUrl ? { runUrl: settings.runUrl } : {}),
    });
  const webhookName = notifications.slack_webhook_secret;
  const webhookUrl = webhookName ? secrets.get(webhookName) : undefined;
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
    const url = events.webhook_url_secret ? secrets.get(events.webhook_url_secret) : undefined;
    const signingKey = events.webhook_signing_secret ? secrets.get(events.webhook_signing_secret) : undefined;
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
  if (publishFailure !== undefined)
    throw new PublishError(`publishing the rotations failed: ${(publishFailure as Error).message}`, outcome, {
      cause: publishFailure,
    });
  return outcome;
}

/**
 * Whether the rotations branch, as it is before this report pushes, was vouched for by the bot (or does not
 * exist). Its records are carried over into the new head; if someone else pushed it, the new head is not stamped.
 */
async function branchVouched(
  settings: ReportSettings,
  octokit: GitHubClient,
  gitOptions: GitOptions,
): Promise<{ vouched: boolean; sha?: string }> {
  let sha: string | undefined;
  try {
    sha = await new Git(settings.root, gitOptions).remoteBranchSha('origin', settings.branch);
  } catch {
    return { vouched: false };
  }
  if (!sha) return { vouched: true };
  const status = await botStatus(
    octokit,
    { owner: settings.owner, repo: settings.repo, sha },
    settings.botLogin || DEFAULT_BOT_LOGIN,
  ).catch(() => ({ found: false }));
  return { vouched: status.found, sha };
}

/**
 * Sets the `ottr/rotations` commit status on the head this report pushed (or found unchanged), which is what
 * makes the next plan count its unmerged records. Not set when the head carries over records from a branch tip
 * the bot did not vouch for. A failure is reported, never thrown: without the status the plan merely ignores the
 * branch.
 */
async function vouchForBranch(
  settings: ReportSettings,
  octokit: GitHubClient,
  published: PublishResult,
  before: { vouched: boolean; sha?: string },
): Promise<ReportOutcome['recordStatus']> {
  const sha = published.commit;
  if (!sha || published.action === 'no-changes') return undefined;
  if (!before.vouched && published.carriedOver.length > 0)
    return {
      sha,
      set: false,
      message: `${settings.branch} was at ${before.sha?.slice(0, 12)}, which has no ${ROTATIONS_STATUS_CONTEXT} status from ${settings.botLogin || DEFAULT_BOT_LOGIN}, and the new head carries over its records (${published.carriedOver.join(', ')}): the head is not marked as recorded by the bot, so the plan ignores the branch until the pull request is merged`,
    };
  try {
    const { data } = await octokit.rest.repos.createCommitStatus({
      owner: settings.owner,
      repo: settings.repo,
      sha,
      state: 'success',
      context: ROTATIONS_STATUS_CONTEXT,
      description: `recorded by the report of run ${settings.runId ?? '(unknown)'}`,
      ...(settings.runUrl ? { target_url: settings.runUrl } : {}),
    });
    const login = data.creator?.login;
    const expected = settings.botLogin || DEFAULT_BOT_LOGIN;
    if (login && login !== expected)
      return {
        sha,
        set: true,
        message: `the status was created as ${login}, but bot-login is ${expected}: set bot-login to ${login} for the plan and the report, or the plan ignores the branch`,
      };
    return { sha, set: true };
  } catch (error) {
    return {
      sha,
      set: false,
      message: `the ${ROTATIONS_STATUS_CONTEXT} status could not be set on ${sha.slice(0, 12)} (${(error as Error).message.split('\n')[0]}; the token needs statuses: write): the plan ignores the branch until the pull request is merged`,
    };
  }
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
  if (outcome.results.length === 0 && outcome.refused.length === 0)
    lines.push('No result files arrived: no rotate job finished a device.', '');
  if (outcome.refused.length > 0)
    lines.push(
      `**Refused results** (not recorded, counted as failures; see docs/security-records.md):`,
      '',
      ...outcome.refused.map((r) => `- ${describeRefusal(r)}`),
      '',
    );
  const pr = outcome.pullRequest;
  if (outcome.publishError) lines.push(`**Pull request:** not published: ${outcome.publishError}`, '');
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
  if (outcome.recordStatus?.message) lines.push(`**Rotations branch:** ${outcome.recordStatus.message}`, '');
  for (const u of outcome.unreadable) lines.push(`- ${u.file}: skipped: ${u.message}`);
  for (const n of outcome.notes) lines.push(`- ${n.system_name}: ${n.message}`);
  for (const name of outcome.removed)
    lines.push(`- ${name}: no longer in the inventory, its result is skipped`);
  if (outcome.results.length > 0) {
    lines.push(rotationSummary(outcome.results));
    if (!pr?.url) lines.push(renderPullRequest(outcome.results).body, '');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The report job's secrets: OTTR_SECRET_NAMES is the plan's report_secrets output (a JSON list) and
 * OTTR_SECRET_1… hold their values. Device credentials are never among them.
 */
export function reportSecrets(env: NodeJS.ProcessEnv): SecretSource {
  let names: unknown = [];
  try {
    names = JSON.parse(env.OTTR_SECRET_NAMES || '[]');
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string'))
    throw new Error('OTTR_SECRET_NAMES must be a JSON list of secret names (the plan output report_secrets)');
  return jobSecrets(names as string[], env, REPORT_SECRET_SLOTS);
}

export async function main(): Promise<void> {
  const settings = reportSettings(process.env);
  let outcome: ReportOutcome;
  let failure: Error | undefined;
  try {
    outcome = await report(settings, reportSecrets(process.env));
  } catch (error) {
    if (!(error instanceof PublishError)) throw error;
    outcome = error.outcome;
    failure = error;
  }
  const rotated = outcome.results.filter((r) => r.status === 'rotated').length;
  const failed =
    outcome.results.filter((r) => r.status === 'failed' || r.status === 'rolled_back').length +
    outcome.refused.length;
  core.setOutput('rotated', String(rotated));
  core.setOutput('failed', String(failed));
  core.setOutput('refused', String(outcome.refused.length));
  core.setOutput('pull-request-action', outcome.pullRequest?.action ?? 'none');
  core.setOutput('pull-request-number', String(outcome.pullRequest?.number ?? ''));
  core.setOutput('pull-request-url', outcome.pullRequest?.url ?? '');
  core.setOutput('dashboard', outcome.dashboard);
  for (const r of outcome.refused) core.warning(describeRefusal(r));
  for (const u of outcome.unreadable) core.warning(`${u.file}: skipped: ${u.message}`);
  for (const n of outcome.notes) core.notice(`${n.system_name}: ${n.message}`);
  for (const name of outcome.removed)
    core.notice(`${name} is no longer in the inventory; its result is skipped`);
  if (outcome.recordStatus?.message) core.warning(outcome.recordStatus.message);
  for (const e of outcome.issues?.errors ?? []) core.warning(`failure issue for ${e.device}: ${e.message}`);
  if (outcome.slack && !outcome.slack.sent && failed > 0) core.warning(`Slack: ${outcome.slack.reason}`);
  for (const e of outcome.events?.errors ?? [])
    core.warning(`event ${e.channel} for ${e.device}: ${e.message}`);
  await core.summary.addRaw(outcome.summary).write();
  core.info(
    `${rotated} rotated, ${failed} failed${outcome.refused.length > 0 ? ` (${outcome.refused.length} refused)` : ''}; pull request: ${outcome.pullRequest?.url ?? outcome.pullRequest?.action ?? 'none'}`,
  );
  if (failure) throw failure;
  if (outcome.results.length === 0 && outcome.refused.length === 0)
    core.setFailed('no result files arrived from the rotate jobs');
  else if (outcome.refused.length > 0)
    core.setFailed(`${outcome.refused.length} result file(s) refused: nothing of them was recorded`);
}
