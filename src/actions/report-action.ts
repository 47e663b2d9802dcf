import * as core from '@actions/core';
import { githubClient } from '../github/github-client.ts';
import { describeRefusal, RESULT_ARTIFACT_PREFIX } from '../gitops/accept-results.ts';
import { DEFAULT_BOT_LOGIN } from '../gitops/pending.ts';
import { DEFAULT_ROTATIONS_BRANCH, type MergeMethod } from '../gitops/pull-request.ts';
import { type ReportJobInput, reportJob } from '../jobs/report-job.ts';
import { REPORT_SECRET_SLOTS } from '../secrets/job-secrets.ts';
import type { SecretSource } from '../secrets/source.ts';
import {
  flag,
  githubContext,
  githubToken,
  jobSecrets,
  list,
  repositoryDefaultBranch,
  text,
} from './inputs.ts';

/** The report action's inputs and the run's context, read once: the job's input, less the clients made from it. */
export interface ReportInputs extends Omit<ReportJobInput, 'octokit' | 'secrets' | 'defaultBranch'> {
  apiUrl: string;
  /** The `base` input, else the event's default branch; absent when neither names it (main asks the API). */
  defaultBranch?: string;
}

export function reportInputs(env: NodeJS.ProcessEnv): ReportInputs {
  const github = githubContext(env);
  const autoMerge = text('auto-merge').toLowerCase();
  if (!['', 'false', 'true', 'merge', 'squash', 'rebase'].includes(autoMerge))
    throw new Error(`input auto-merge must be false, true, merge, squash or rebase, not "${autoMerge}"`);
  const dryRun = flag('dry-run');
  const defaultBranch = text('base') || github.eventDefaultBranch;
  return {
    root: text('root') || '.',
    resultsDir: text('results-dir') || 'ottr-results',
    planFile: text('plan-file') || 'plan.json',
    ...(text('plan-sha256') ? { planSha256: text('plan-sha256').toLowerCase() } : {}),
    dashboardDir: text('dashboard-dir') || 'ottr-dashboard',
    token: githubToken(dryRun),
    branch: text('branch') || DEFAULT_ROTATIONS_BRANCH,
    ...(defaultBranch ? { defaultBranch } : {}),
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
  const inputs = reportInputs(process.env);
  const secrets = reportSecrets(process.env);
  const octokit = inputs.token ? githubClient(inputs.token, inputs.apiUrl) : undefined;
  // Only a publishing run needs the default branch; a dry run never asks the API for it.
  const defaultBranch =
    octokit && !inputs.dryRun
      ? await repositoryDefaultBranch(inputs.defaultBranch, octokit, inputs)
      : (inputs.defaultBranch ?? '');
  const outcome = await reportJob(
    { ...inputs, defaultBranch, ...(octokit ? { octokit } : {}), secrets },
    { secret: (value) => core.setSecret(value) },
  );
  const { rotated, failed } = outcome;
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
  if (outcome.publishError !== undefined)
    throw new Error(`publishing the rotations failed: ${outcome.publishError}`);
  if (outcome.results.length === 0 && outcome.refused.length === 0)
    core.setFailed('no result files arrived from the rotate jobs');
  else if (outcome.refused.length > 0)
    core.setFailed(`${outcome.refused.length} result file(s) refused: nothing of them was recorded`);
  else if (outcome.unreported.length > 0)
    core.setFailed(
      `${outcome.unreported.length} planned device(s) sent no result: ${outcome.unreported.map((u) => u.system_name).join(', ')} (their rotate job failed before uploading ${RESULT_ARTIFACT_PREFIX}<entry id>, or the artifact did not arrive)`,
    );
}
