import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import {
  DEFAULT_BOT_LOGIN,
  type PendingTrust,
  pendingCertificates,
  pendingTrust,
  withPendingCertificates,
} from '../gitops/pending.ts';
import { planInput } from '../plan/input.ts';
import { buildPlan, type Plan } from '../plan/plan.ts';
import { reportSecrets } from '../plan/secrets.ts';
import { planSummaryMarkdown } from '../plan/summary.ts';
import { loadRepository, ROUTES_FILE, SETTINGS_FILE } from '../repository/load.ts';
import { parseDuration } from '../util/duration.ts';
import { writeFileAtomic } from '../util/files.ts';
import { didYouMean } from '../util/suggest.ts';
import { flag, githubContext, list, text } from './inputs.ts';

/** The plan action's inputs, read once. */
export interface PlanSettings {
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

export function planSettings(): PlanSettings {
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
  /** Device files that were skipped for a problem: file, line and message, for annotations. */
  skippedFiles: { file: string; line?: number; message: string }[];
  /** Devices whose certificate came from the unmerged rotations branch. */
  pending: string[];
  /** Whether the rotations branch was believed, and why not. */
  pendingTrust: PendingTrust;
}

/** Plans the run; throws with a clear message when settings, routes or the device selection are unusable. */
export async function planRun(settings: PlanSettings): Promise<PlanOutcome> {
  const repo = await loadRepository(settings.root);
  if (!repo.settings || !repo.routes) {
    const blocking = repo.problems
      .filter((p) => p.severity === 'error' && (p.file === SETTINGS_FILE || p.file === ROUTES_FILE))
      .map((p) => `${p.file}:${p.line}: ${p.message}`);
    throw new Error(
      `no plan: ${blocking.join('; ') || 'routing/settings.yaml or routing/routes.yaml is invalid'}`,
    );
  }
  const trust = await pendingTrust({
    root: settings.root,
    ref: settings.pendingRef,
    ...(settings.botLogin ? { botLogin: settings.botLogin } : {}),
    ...(settings.github
      ? {
          github: {
            octokit: getOctokit(settings.github.token, { baseUrl: settings.github.apiUrl }),
            owner: settings.github.owner,
            repo: settings.github.repo,
          },
        }
      : {}),
  });
  const pending =
    trust.trusted && trust.sha
      ? withPendingCertificates(
          repo.records,
          await pendingCertificates(settings.root, trust.sha).catch(() => new Map()),
        )
      : [];
  const known = new Set(repo.records.map((r) => r.system_name));
  const unknown = settings.devices.filter((name) => !known.has(name));
  if (unknown.length > 0)
    throw new Error(
      `not in the inventory: ${unknown.map((n) => `"${n}"${didYouMean(n, known)}`).join(', ')}`,
    );
  const plan = buildPlan(
    planInput(repo.records, repo.settings, settings.now, {
      ...(settings.force ? { force: true } : {}),
      ...(settings.devices.length > 0 ? { only: settings.devices } : {}),
    }),
  );
  const timeoutMs = parseDuration(repo.settings.limits?.timeout ?? '15m') ?? 900_000;
  const devices = repo.records.flatMap((r) => (r.device ? [r.device] : []));
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
      // Per device the driver's own timeout applies; the job gets room for a shard and the runner's set-up.
      timeout_minutes: String(Math.ceil(timeoutMs / 60_000) * Math.max(1, maxShardLength(plan)) + 10),
      plan_file: settings.planFile,
      report_secrets: JSON.stringify(reportSecrets(repo.settings)),
    },
    summary:
      planSummaryMarkdown(plan, devices) +
      (pending.length > 0
        ? `\n${pending.length} device(s) already rotated, awaiting the merge of the rotations pull request: ${pending.join(', ')}\n`
        : '') +
      (trust.message ? `\n${trust.level === 'warning' ? '**Warning:** ' : ''}${trust.message}\n` : ''),
    pending,
    pendingTrust: trust,
    skippedFiles: repo.problems
      .filter((p) => p.severity === 'error' && p.file.startsWith('inventory/'))
      .map((p) => ({
        file: p.file,
        ...(p.line ? { line: p.line } : {}),
        message: `device skipped: ${p.message}`,
      })),
  };
}

function maxShardLength(plan: Plan): number {
  const sizes = plan.shards?.map((s) => s.devices.length) ?? [1];
  return Math.max(1, ...sizes);
}

export async function main(): Promise<void> {
  const settings = planSettings();
  const outcome = await planRun(settings);
  const planText = `${JSON.stringify(outcome.plan, null, 2)}\n`;
  writeFileAtomic(resolve(settings.root, settings.planFile), planText);
  core.setOutput('plan_sha256', createHash('sha256').update(planText).digest('hex'));
  if (outcome.pendingTrust.message)
    (outcome.pendingTrust.level === 'notice' ? core.notice : core.warning)(outcome.pendingTrust.message);
  for (const s of outcome.skippedFiles)
    core.warning(s.message, { file: s.file, ...(s.line ? { startLine: s.line } : {}) });
  for (const [name, value] of Object.entries(outcome.outputs)) core.setOutput(name, value);
  await core.summary.addRaw(outcome.summary).write();
  core.info(
    `${outcome.plan.counts.due} due, ${outcome.plan.counts.deferred} deferred, ${outcome.plan.counts.skipped} skipped → ${outcome.plan.counts.jobs} job(s)`,
  );
  for (const error of outcome.plan.errors) core.error(error);
  if (outcome.plan.errors.length > 0) core.setFailed(`the plan has ${outcome.plan.errors.length} error(s)`);
}
