import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { GitHubClient } from '../github/github-client.ts';
import {
  type Acceptance,
  acceptResults,
  authorityTrust,
  describeRefusal,
  entryDevices,
  type FoundResult,
  findResults,
  RESULT_ARTIFACT_PREFIX,
  type Refusal,
} from '../gitops/accept-results.ts';
import { type ApplyReport, applyResults, certificateRecord, readResults } from '../gitops/apply-results.ts';
import { Git, type GitOptions } from '../gitops/git.ts';
import {
  botStatus,
  DEFAULT_BOT_LOGIN,
  ROTATIONS_STATUS_CONTEXT,
  withPendingCertificates,
} from '../gitops/pending.ts';
import { renderPullRequest } from '../gitops/pr-body.ts';
import {
  type MergeMethod,
  type PublishResult,
  publishRotations,
  reapplyResults,
} from '../gitops/pull-request.ts';
import { isFailure, type RotationResult } from '../model/results.ts';
import type { CertificateRecord, Device, Settings } from '../model/types.ts';
import { type EventOutcome, sendRotationEvents } from '../notify/events.ts';
import { type IssueSyncSummary, syncFailureIssues } from '../notify/github-issues.ts';
import { notifySlack, type SlackNotifyOutcome } from '../notify/slack.ts';
import type { Plan } from '../plan/build-plan.ts';
import type { DeviceRecord } from '../repository/device-file.ts';
import { loadRepository } from '../repository/load.ts';
import { rotationSummary } from '../rotate/rotation-summary.ts';
import type { SecretSource } from '../secrets/source.ts';
import { DASHBOARD_FILE, fleetStatus, renderDashboard } from '../status/index.ts';
import { writeFileAtomic } from '../util/files.ts';

/** What the report job records and notifies, and where: the report action's inputs and the run's context. */
export interface ReportJobInput {
  root: string;
  /** Searched as `<resultsDir>/ottr-result-<entry id>/` (any depth, `*.json`), relative to root. */
  resultsDir: string;
  /** The plan job's plan.json (artifact ottr-plan), relative to root: which job was given which device. */
  planFile: string;
  /** The plan job's plan_sha256 output: the plan file must be the one the plan job wrote (empty: not checked). */
  planSha256?: string;
  /** Where the fleet dashboard (index.html) is written, relative to root. */
  dashboardDir: string;
  /** git's credential for the push (with serverUrl); empty on a dry run without a token. */
  token: string;
  /** The GitHub API, when there is a token: without it nothing is published and no issue is touched. */
  octokit?: GitHubClient;
  branch: string;
  defaultBranch: string;
  labels: string[];
  autoMerge: false | MergeMethod;
  dryRun: boolean;
  owner: string;
  repo: string;
  serverUrl: string;
  runUrl?: string;
  runId?: string;
  /** Who this report runs as (the plan trusts its statuses only): `<app-slug>[bot]` for an App token. */
  botLogin?: string;
  /** The report's secrets (the Slack webhook, the events webhook and its signing key). */
  secrets: SecretSource;
}

/** What the report job tells its adapter while it runs. */
export interface ReportPort {
  /** A credential git is about to use (the token in a URL): mask it before anything can print it. */
  secret(value: string): void;
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
  /**
   * Devices the plan gave a rotate job that sent no result for them (the job failed before its upload, or its
   * artifact never arrived): nothing is known of them, they stay due, and the run fails.
   */
  unreported: { system_name: string; entry: string }[];
  /** Accepted results that rotated. */
  rotated: number;
  /** Accepted results that failed or were rolled back, and refused result files. */
  failed: number;
  pullRequest?: PublishResult;
  /** Why publishing failed: the report still notified, and the run fails with this at the end. */
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

/**
 * Merges the run's result files, publishes the certificate updates as the rotations pull request, and notifies:
 * one GitHub issue per failing device (closed when it rotates again) and Slack. Only results `acceptResults`
 * believes are recorded or notified; refused ones are in `refused`. Notification problems are reported in the
 * outcome, never thrown. A failing push or pull request is `publishError`, and the failure issues, Slack and
 * events are sent all the same.
 */
export async function reportJob(input: ReportJobInput, port: ReportPort): Promise<ReportOutcome> {
  const dir = resolve(input.root, input.resultsDir);
  const { found, problems: unreadable } = existsSync(dir)
    ? findResults(dir)
    : { found: [] as FoundResult[], problems: [] };
  const repository = await loadRepository(input.root);
  const devices: Device[] = repository.records.flatMap((r) => (r.device ? [r.device] : []));
  const planRead =
    found.length > 0
      ? readPlanFile(resolve(input.root, input.planFile), input.planSha256)
      : { problem: 'no results' };
  const acceptance = accept(input, found, planRead, devices, repository.settings);
  const results = acceptance.accepted;
  const outcome: ReportOutcome = {
    results,
    refused: acceptance.refused,
    notes: acceptance.notes,
    unreadable,
    removed: acceptance.removed,
    unreported: 'plan' in planRead ? unreportedDevices(planRead.plan, found) : [],
    rotated: results.filter((r) => r.status === 'rotated').length,
    failed: results.filter(isFailure).length + acceptance.refused.length,
    dashboard: '',
    summary: '',
  };
  const notifications = repository.settings?.notifications ?? {};
  if (!input.dryRun && results.length > 0 && input.octokit)
    Object.assign(outcome, await publish(input, input.octokit, results, notifications.labels ?? [], port));
  await notify(input, outcome, devices, repository.settings);
  outcome.dashboard = writeDashboard(input, repository.records, repository.settings, results);
  outcome.summary = reportSummary(outcome, input);
  return outcome;
}

/** The results believed: checked against the plan file (which job had which device) and the authorities' roots. */
function accept(
  input: ReportJobInput,
  found: FoundResult[],
  planRead: ReturnType<typeof readPlanFile>,
  devices: Device[],
  settings: Settings | undefined,
): Acceptance {
  return acceptResults(found, {
    ...('plan' in planRead ? { plan: planRead.plan } : { planProblem: planRead.problem }),
    devices: new Map(devices.map((d) => [d.system_name, d])),
    trust: authorityTrust(input.root, settings),
    now: new Date(),
  });
}

/** Every device of the plan's matrix with no result file naming it in its own entry's artifact. */
function unreportedDevices(plan: Plan, found: FoundResult[]): ReportOutcome['unreported'] {
  const unreported: ReportOutcome['unreported'] = [];
  for (const [entry, names] of entryDevices(plan)) {
    const artifact = `${RESULT_ARTIFACT_PREFIX}${entry}`;
    const reported = new Set(found.filter((f) => f.artifact === artifact).map((f) => f.result.system_name));
    for (const name of [...names].sort())
      if (!reported.has(name)) unreported.push({ system_name: name, entry });
  }
  return unreported;
}

/** Pushes the rotations branch, opens or updates its pull request, and vouches for the pushed head. */
async function publish(
  input: ReportJobInput,
  octokit: GitHubClient,
  results: RotationResult[],
  notificationLabels: string[],
  port: ReportPort,
): Promise<Pick<ReportOutcome, 'pullRequest' | 'recordStatus' | 'publishError'>> {
  const masked = new Set<string>();
  const gitOptions: GitOptions = {
    auth: { token: input.token, serverUrl: input.serverUrl },
    onSecret: (value) => {
      if (!masked.has(value)) port.secret(value);
      masked.add(value);
    },
  };
  let pullRequest: PublishResult | undefined;
  try {
    // Whether the branch as we find it was the bot's own: only then may what it carries over be vouched for.
    const before = await branchVouched(input, octokit, gitOptions);
    pullRequest = await publishRotations({
      repoDir: input.root,
      defaultBranch: input.defaultBranch,
      branch: input.branch,
      reapply: reapplyResults(results),
      results,
      octokit,
      owner: input.owner,
      repo: input.repo,
      labels: [...input.labels, ...notificationLabels],
      ...(input.autoMerge ? { autoMerge: input.autoMerge } : {}),
      ...(input.runUrl ? { runUrl: input.runUrl } : {}),
      git: gitOptions,
    });
    const recordStatus = await vouchForBranch(input, octokit, pullRequest, before);
    return { pullRequest, ...(recordStatus ? { recordStatus } : {}) };
  } catch (error) {
    return { ...(pullRequest ? { pullRequest } : {}), publishError: (error as Error).message };
  }
}

/** The failure issues, Slack and the follow-on events, as settings ask for them; problems go into the outcome. */
async function notify(
  input: ReportJobInput,
  outcome: ReportOutcome,
  devices: Device[],
  settings: Settings | undefined,
): Promise<void> {
  const { results } = outcome;
  const { octokit, secrets } = input;
  const notifications = settings?.notifications ?? {};
  const runUrl = input.runUrl ? { runUrl: input.runUrl } : {};
  if (!input.dryRun && results.length > 0 && octokit && notifications.github_issues !== false)
    outcome.issues = await syncFailureIssues({
      octokit,
      owner: input.owner,
      repo: input.repo,
      results,
      devices,
      labels: notifications.labels ?? [],
      ...runUrl,
    });
  const webhookName = notifications.slack_webhook_secret;
  const webhookUrl = webhookName ? secrets.get(webhookName) : undefined;
  if (webhookUrl && !input.dryRun)
    outcome.slack = await notifySlack({ webhookUrl, results, devices, ...runUrl });
  else if (webhookName && !webhookUrl)
    outcome.slack = { sent: false, messages: 0, reason: `the secret ${webhookName} is not set` };
  const events = settings?.events;
  if (events && !input.dryRun && results.some((r) => r.status === 'rotated')) {
    const url = events.webhook_url_secret ? secrets.get(events.webhook_url_secret) : undefined;
    const signingKey = events.webhook_signing_secret ? secrets.get(events.webhook_signing_secret) : undefined;
    outcome.events = await sendRotationEvents({
      results,
      ...(events.repository_dispatch && octokit
        ? { dispatch: { octokit, owner: input.owner, repo: input.repo } }
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
 * Whether the rotations branch, as it is before this report pushes, was vouched for by the bot (or does not
 * exist). Its records are carried over into the new head; if someone else pushed it, the new head is not stamped.
 */
async function branchVouched(
  input: ReportJobInput,
  octokit: GitHubClient,
  gitOptions: GitOptions,
): Promise<{ vouched: boolean; sha?: string }> {
  let sha: string | undefined;
  try {
    sha = await new Git(input.root, gitOptions).remoteBranchSha('origin', input.branch);
  } catch {
    return { vouched: false };
  }
  if (!sha) return { vouched: true };
  const status = await botStatus(
    octokit,
    { owner: input.owner, repo: input.repo, sha },
    input.botLogin || DEFAULT_BOT_LOGIN,
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
  input: ReportJobInput,
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
      message: `${input.branch} was at ${before.sha?.slice(0, 12)}, which has no ${ROTATIONS_STATUS_CONTEXT} status from ${input.botLogin || DEFAULT_BOT_LOGIN}, and the new head carries over its records (${published.carriedOver.join(', ')}): the head is not marked as recorded by the bot, so the plan ignores the branch until the pull request is merged`,
    };
  try {
    const { data } = await octokit.rest.repos.createCommitStatus({
      owner: input.owner,
      repo: input.repo,
      sha,
      state: 'success',
      context: ROTATIONS_STATUS_CONTEXT,
      description: `recorded by the report of run ${input.runId ?? '(unknown)'}`,
      ...(input.runUrl ? { target_url: input.runUrl } : {}),
    });
    const login = data.creator?.login;
    const expected = input.botLogin || DEFAULT_BOT_LOGIN;
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
  input: ReportJobInput,
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
  const path = join(resolve(input.root, input.dashboardDir), DASHBOARD_FILE);
  writeFileAtomic(path, renderDashboard(fleetStatus(records, fleetSettings, now).rows, { generatedAt: now }));
  return path;
}

function reportSummary(outcome: ReportOutcome, input: ReportJobInput): string {
  const lines: string[] = ['## Ottr report', ''];
  if (outcome.results.length === 0 && outcome.refused.length === 0)
    lines.push('No result files arrived: no rotate job finished a device.', '');
  if (outcome.unreported.length > 0)
    lines.push(
      `**No result** (not rotated as far as anyone knows; they stay due): ${outcome.unreported.map((u) => `${u.system_name} (artifact ${RESULT_ARTIFACT_PREFIX}${u.entry})`).join(', ')}`,
      '',
    );
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
  else if (input.dryRun) lines.push('Dry run: nothing recorded, nobody notified.', '');
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

/** The result files `ottr apply-results` was given, and the repository they are written into. */
export interface ApplyResultsInput {
  root: string;
  /** The result files of a run (`resultFiles` lists a folder's, nested folders included). */
  files: readonly string[];
}

export interface AppliedResults extends ApplyReport {
  /** Files that are not results, then device files that could not be updated. */
  unreadable: ApplyReport['problems'];
}

/**
 * The report's recording step alone, on a working tree: each rotated result's certificate goes into its device
 * file. Nothing is checked against a plan, published or notified: the operator vouches for the files.
 */
export async function applyResultsJob(input: ApplyResultsInput): Promise<AppliedResults> {
  const repository = await loadRepository(input.root);
  const { results, problems } = readResults(input.files);
  const report = applyResults(
    input.root,
    new Map(repository.records.map((r) => [r.system_name, r.file])),
    results,
  );
  return { ...report, unreadable: [...problems, ...report.problems] };
}
