import type { GitHubClient } from '../github/github-client.ts';
import {
  type PendingTrust,
  pendingCertificates,
  pendingTrust,
  withPendingCertificates,
} from '../gitops/pending.ts';
import type { Problem } from '../model/problems.ts';
import { buildPlan, type Plan } from '../plan/build-plan.ts';
import { planInput } from '../plan/input.ts';
import { planSummaryMarkdown } from '../plan/plan-summary.ts';
import { loadRepository, ROUTES_FILE, SETTINGS_FILE } from '../repository/load.ts';
import { reportSecrets } from '../secrets/job-secrets.ts';
import { parseDuration } from '../util/duration.ts';
import { didYouMean } from '../util/suggest.ts';

/** What to plan, as the plan action and `ottr plan` both ask for it. */
export interface PlanJobInput {
  root: string;
  now: Date;
  /** Only these system names (empty: every device). */
  devices: readonly string[];
  /** Treat the selected devices as due (a manual rotation). */
  force: boolean;
  /**
   * The rotations branch as fetched, whose unmerged certificate records count as recorded when the report's bot
   * vouched for its head (the action). Absent: only the checkout counts (`ottr plan` on a working tree).
   */
  rotationsBranch?: {
    ref: string;
    /** The report's login; `github-actions[bot]` when absent. */
    botLogin?: string;
    /** To read the head's commit statuses; absent: the branch is ignored with a notice. */
    github?: { octokit: GitHubClient; owner: string; repo: string };
  };
}

/** What the plan job tells its adapter while it runs. */
export interface PlanPort {
  /** Keeps the plan as JSON text (the action's plan file, the CLI's --out); called once, as soon as it is built. */
  savePlan(json: string): void;
  /** Why the rotations branch's records do not count. */
  branchIgnored(message: string, level: 'notice' | 'warning'): void;
  /** A device file with an error: that device is skipped, the plan goes on. */
  deviceSkipped(problem: Problem): void;
}

export type PlanJobResult =
  /** routing/settings.yaml or routing/routes.yaml is unusable: no plan. */
  | { status: 'no-plan'; blocking: Problem[] }
  /** The device selection names devices the inventory does not have. */
  | { status: 'unknown-devices'; message: string }
  | PlannedRun;

export interface PlannedRun {
  status: 'planned';
  plan: Plan;
  /** The job summary: the plan's markdown, and what the rotations branch contributed. */
  summary: string;
  /** Devices whose certificate came from the unmerged rotations branch. */
  pending: string[];
  /** Whether the rotations branch was believed, and why not (`{ trusted: false }` without a branch). */
  pendingTrust: PendingTrust;
  /** Room for one rotate job: the driver timeout per device of the longest shard, plus the runner's set-up. */
  jobTimeoutMinutes: number;
  /** The secret names the report job needs. */
  reportSecrets: string[];
}

/** Plans a run: which devices are due, deferred or skipped, and the job matrix. */
export async function planJob(input: PlanJobInput, port: PlanPort): Promise<PlanJobResult> {
  const repository = await loadRepository(input.root);
  if (!repository.settings || !repository.routes) {
    const blocking = repository.problems.filter(
      (p) => p.severity === 'error' && (p.file === SETTINGS_FILE || p.file === ROUTES_FILE),
    );
    return { status: 'no-plan', blocking };
  }
  const trust: PendingTrust = input.rotationsBranch
    ? await pendingTrust({
        root: input.root,
        ref: input.rotationsBranch.ref,
        ...(input.rotationsBranch.botLogin ? { botLogin: input.rotationsBranch.botLogin } : {}),
        ...(input.rotationsBranch.github ? { github: input.rotationsBranch.github } : {}),
      })
    : { trusted: false };
  const pending =
    trust.trusted && trust.sha
      ? withPendingCertificates(
          repository.records,
          await pendingCertificates(input.root, trust.sha).catch(() => new Map()),
        )
      : [];
  const known = new Set(repository.records.map((r) => r.system_name));
  const unknown = input.devices.filter((name) => !known.has(name));
  if (unknown.length > 0)
    return {
      status: 'unknown-devices',
      message: `not in the inventory: ${unknown.map((n) => `"${n}"${didYouMean(n, known)}`).join(', ')}`,
    };
  const plan = buildPlan(
    planInput(repository.records, repository.settings, input.now, {
      ...(input.force ? { force: true } : {}),
      ...(input.devices.length > 0 ? { only: [...input.devices] } : {}),
    }),
  );
  port.savePlan(`${JSON.stringify(plan, null, 2)}\n`);
  if (trust.message) port.branchIgnored(trust.message, trust.level ?? 'warning');
  for (const problem of skippedDeviceProblems(repository.problems)) port.deviceSkipped(problem);
  const timeoutMs = parseDuration(repository.settings.limits?.timeout ?? '15m') ?? 900_000;
  const devices = repository.records.flatMap((r) => (r.device ? [r.device] : []));
  return {
    status: 'planned',
    plan,
    summary:
      planSummaryMarkdown(plan, devices) +
      (pending.length > 0
        ? `\n${pending.length} device(s) already rotated, awaiting the merge of the rotations pull request: ${pending.join(', ')}\n`
        : '') +
      (trust.message ? `\n${trust.level === 'warning' ? '**Warning:** ' : ''}${trust.message}\n` : ''),
    pending,
    pendingTrust: trust,
    // Per device the driver's own timeout applies; the job gets room for a shard and the runner's set-up.
    jobTimeoutMinutes: jobTimeoutMinutes(timeoutMs, plan),
    reportSecrets: reportSecrets(repository.settings),
  };
}

/** Device-file errors become warnings in a plan: the device is skipped, the run goes on. */
function skippedDeviceProblems(problems: readonly Problem[]): Problem[] {
  return problems
    .filter((p) => p.severity === 'error' && p.file.startsWith('inventory/'))
    .map((p) => ({ ...p, severity: 'warning' as const, message: `device skipped: ${p.message}` }));
}

function maxShardLength(plan: Plan): number {
  const sizes = plan.shards?.map((s) => s.devices.length) ?? [1];
  return Math.max(1, ...sizes);
}

function jobTimeoutMinutes(deviceTimeoutMs: number, plan: Plan): number {
  return Math.ceil(deviceTimeoutMs / 60_000) * Math.max(1, maxShardLength(plan)) + 10;
}

/** STS's bounds for an assumed role's session (AssumeRoleWithWebIdentity DurationSeconds). */
const MIN_AWS_SESSION_SECONDS = 900;
const MAX_AWS_SESSION_SECONDS = 43_200;

/**
 * How long a rotate job's AWS session must last: the whole job, so a long shard never meets ExpiredToken half
 * way (configure-aws-credentials asks for one hour unless told). STS allows 15 min to 12 h; the role's own
 * MaxSessionDuration must allow it too (docs/aws.md).
 */
export function awsSessionSeconds(jobMinutes: number): number {
  return Math.min(MAX_AWS_SESSION_SECONDS, Math.max(MIN_AWS_SESSION_SECONDS, jobMinutes * 60));
}
