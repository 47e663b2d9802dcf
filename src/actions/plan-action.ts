import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import * as core from '@actions/core';
import { githubClient } from '../github/github-client.ts';
import { DEFAULT_BOT_LOGIN, type PendingTrust } from '../gitops/pending.ts';
import { awsSessionSeconds, type PlanPort, planJob } from '../jobs/plan-job.ts';
import type { Plan } from '../plan/build-plan.ts';
import { writeFileAtomic } from '../util/files.ts';
import { flag, githubContext, list, text } from './inputs.ts';

/** The plan action's inputs, read once. */
export interface PlanInputs {
  root: string;
  devices: string[];
  force: boolean;
  now: Date;
  planFile: string;
  /** The rotations branch as fetched (its unmerged certificate updates count as recorded). */
  pendingRef: string;
  /**
   * To read the branch head's commit statuses: its unmerged records count only when the report's bot set the
   * `ottr/rotations` status on it. Absent: the branch is ignored (with a notice).
   */
  github?: { token: string; owner: string; repo: string; apiUrl: string };
  /** The report's login: `github-actions[bot]` (the default) for GITHUB_TOKEN, `<app-slug>[bot]` for an App. */
  botLogin?: string;
}

export function planInputs(): PlanInputs {
  const now = text('now');
  const date = now ? new Date(now) : new Date();
  if (Number.isNaN(date.getTime())) throw new Error(`input now must be an ISO-8601 date-time, not "${now}"`);
  const token = text('github-token');
  if (token) core.setSecret(token);
  return {
    root: text('root') || '.',
    devices: list('devices'),
    force: flag('force'),
    now: date,
    planFile: text('plan-file') || 'plan.json',
    pendingRef: `refs/remotes/origin/${text('rotations-branch') || 'ottr/rotations'}`,
    ...(token ? { github: { token, ...pick(githubContext(process.env)) } } : {}),
    botLogin: text('bot-login') || DEFAULT_BOT_LOGIN,
  };
}

const pick = ({ owner, repo, apiUrl }: { owner: string; repo: string; apiUrl: string }) => ({
  owner,
  repo,
  apiUrl,
});

export interface PlanOutcome {
  plan: Plan;
  outputs: Record<string, string>;
  summary: string;
  /** Devices whose certificate came from the unmerged rotations branch. */
  pending: string[];
  /** Whether the rotations branch was believed, and why not. */
  pendingTrust: PendingTrust;
}

/** A port that keeps nothing and says nothing: the plan alone, as `planRun`'s callers in tests want it. */
const QUIET: PlanPort = { savePlan() {}, branchIgnored() {}, deviceSkipped() {} };

/**
 * Plans the run and maps it to the action's outputs; throws with a clear message when settings, routes or the
 * device selection are unusable.
 */
export async function planRun(inputs: PlanInputs, port: PlanPort = QUIET): Promise<PlanOutcome> {
  const result = await planJob(
    {
      root: inputs.root,
      now: inputs.now,
      devices: inputs.devices,
      force: inputs.force,
      rotationsBranch: {
        ref: inputs.pendingRef,
        ...(inputs.botLogin ? { botLogin: inputs.botLogin } : {}),
        ...(inputs.github
          ? {
              github: {
                octokit: githubClient(inputs.github.token, inputs.github.apiUrl),
                owner: inputs.github.owner,
                repo: inputs.github.repo,
              },
            }
          : {}),
      },
    },
    port,
  );
  if (result.status === 'no-plan') {
    const blocking = result.blocking.map((p) => `${p.file}:${p.line}: ${p.message}`);
    throw new Error(
      `no plan: ${blocking.join('; ') || 'routing/settings.yaml or routing/routes.yaml is invalid'}`,
    );
  }
  if (result.status === 'unknown-devices') throw new Error(result.message);
  const { plan } = result;
  return {
    plan,
    outputs: {
      matrix: JSON.stringify(plan.matrix),
      has_work: String(plan.matrix.include.length > 0),
      due_count: String(plan.counts.due),
      deferred_count: String(plan.counts.deferred),
      skipped_count: String(plan.counts.skipped),
      jobs: String(plan.counts.jobs),
      max_parallel: String(plan.max_parallel),
      timeout_minutes: String(result.jobTimeoutMinutes),
      aws_session_seconds: String(awsSessionSeconds(result.jobTimeoutMinutes)),
      plan_file: inputs.planFile,
      report_secrets: JSON.stringify(result.reportSecrets),
    },
    summary: result.summary,
    pending: result.pending,
    pendingTrust: result.pendingTrust,
  };
}

/** The action's port: the plan file (and its digest as plan_sha256), notices and annotations. */
function actionPort(inputs: PlanInputs): PlanPort {
  return {
    savePlan(json) {
      writeFileAtomic(resolve(inputs.root, inputs.planFile), json);
      core.setOutput('plan_sha256', createHash('sha256').update(json).digest('hex'));
    },
    branchIgnored(message, level) {
      (level === 'notice' ? core.notice : core.warning)(message);
    },
    deviceSkipped(problem) {
      core.warning(problem.message, {
        file: problem.file,
        ...(problem.line ? { startLine: problem.line } : {}),
      });
    },
  };
}

export async function main(): Promise<void> {
  const inputs = planInputs();
  const outcome = await planRun(inputs, actionPort(inputs));
  for (const [name, value] of Object.entries(outcome.outputs)) core.setOutput(name, value);
  await core.summary.addRaw(outcome.summary).write();
  core.info(
    `${outcome.plan.counts.due} due, ${outcome.plan.counts.deferred} deferred, ${outcome.plan.counts.skipped} skipped → ${outcome.plan.counts.jobs} job(s)`,
  );
  for (const error of outcome.plan.errors) core.error(error);
  if (outcome.plan.errors.length > 0) core.setFailed(`the plan has ${outcome.plan.errors.length} error(s)`);
}
