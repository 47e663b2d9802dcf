import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RotationResult } from '../../src/model/results.ts';
import type { MatrixEntry } from '../../src/plan/matrix.ts';
import type { ActionRun } from '../helpers/action.ts';
import { PROJECT_ROOT } from '../helpers/cli.ts';
import { type FullLab, LAB_GITHUB_TOKEN, LAB_OWNER, LAB_REPO } from './full-lab.ts';
import { ConcurrencyGroups } from './workflow-runner/concurrency.ts';
import { emulatorJobTokens } from './workflow-runner/job-tokens.ts';
import {
  type JobRun,
  type LabRunner,
  loadWorkflow,
  runWorkflow,
  type WorkflowRunOptions,
} from './workflow-runner/runner.ts';

/**
 * The lab's clock for scheduled runs: on this date the sample's recorded certificates make PAN-OS, F5, Lighthouse,
 * SSH and SSM devices due at once (and four devices not due), so one cycle exercises every driver.
 */
export const LAB_NOW = '2026-12-20T06:00:00Z';

const ROTATE_YML = join(PROJECT_ROOT, '.github/workflows/rotate.yml');
/** The lab's data centers, each with a self-hosted runner labelled as settings' `runs_on` names it. */
const DATA_CENTERS = ['sfo1', 'ams2'];

export interface CycleOptions {
  /** The plan's clock (default: now). */
  now?: string;
  /** workflow_dispatch inputs; neither given: a `schedule` run. */
  devices?: string;
  force?: boolean;
  /** How many legs each self-hosted runner takes at once (default: 20; the workflow's max-parallel still holds). */
  maxParallel?: number;
  /** Progress: one line per device and phase. */
  progress?: (line: string) => void;
  /** Runs after every rotate job and before the report job (a colleague pushing to main meanwhile, say). */
  beforeReport?: () => Promise<void> | void;
}

export interface CycleOutcome {
  plan: ActionRun;
  matrix: MatrixEntry[];
  /** The rotate job's legs; `run` is the rotate action's process (absent when the leg failed before that step). */
  jobs: { entry: MatrixEntry; run?: ActionRun; ms: number; leg: JobRun }[];
  report?: ActionRun;
  results: RotationResult[];
  /** Every job of the run as GitHub lists it (plan, the rotate legs, report, pages), with its conclusion. */
  listing: JobRun[];
  ms: number;
}

let cycles = 0;

/**
 * What rotate.yml's `OTTR_SECRET_<n>: ${{ secrets[matrix.secrets[n-1]] }}` lines give a step: the n-th named
 * secret of the job's environment, or an empty string when that environment does not hold it.
 */
export function secretSlots(
  environment: Record<string, string> | undefined,
  names: readonly string[],
): Record<string, string> {
  const slots: Record<string, string> = {};
  names.forEach((name, i) => {
    slots[`OTTR_SECRET_${i + 1}`] = environment?.[name] ?? '';
  });
  return slots;
}

/**
 * rotate.yml as the lab runs it: the file itself, with the lab's clock as the plan step's `now:` input (the one
 * line the lab adds; without `now` given, the plan plans as of the real date).
 */
async function rotateWorkflow(now: string | undefined) {
  const text = readFileSync(ROTATE_YML, 'utf8');
  if (!now) return loadWorkflow(ROTATE_YML, text);
  const anchor = '        uses: ./actions/plan\n        with:\n';
  if (!text.includes(anchor)) throw new Error(`${ROTATE_YML}: no plan step to give the lab clock to`);
  return loadWorkflow(ROTATE_YML, text.replace(anchor, `${anchor}          now: '${now}'\n`));
}

/** GitHub-hosted ubuntu-latest and one self-hosted runner per data center, on the lab's network. */
/** The lab's runners: GitHub-hosted ubuntu-latest, one self-hosted runner per data center with settings' labels. */
export function labRunners(lab: FullLab, capacity: number): LabRunner[] {
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, ...network } = lab.runnerEnv;
  const env = network as Record<string, string>;
  return [
    { name: 'GitHub Actions 1', labels: ['ubuntu-latest'], capacity: 10, env },
    ...DATA_CENTERS.map((dc) => ({
      name: `ottr-${dc}`,
      labels: ['self-hosted', 'ottr', dc, 'linux'],
      capacity,
      env,
    })),
  ];
}

/**
 * The environments as docs/github-setup.md asks for them: every one (`pki-<data_center>`, `pki-report`,
 * `pki-sync`) deploys from the default branch only.
 */
export function labEnvironmentRules(lab: FullLab): NonNullable<WorkflowRunOptions['environmentRules']> {
  const names = new Set([...Object.keys(lab.environments), 'pki-report', 'pki-sync']);
  return Object.fromEntries([...names].map((name) => [name, { deploymentBranches: ['main'] }]));
}

/** The lab repository's concurrency groups: every run of a lab shares them, as runs of one repository do. */
const concurrencyOf = new WeakMap<FullLab, ConcurrencyGroups>();

/** What every run of a workflow in the lab shares: the lab's repository, GitHub, variables, environments, stand-ins. */
export function labWorkflowOptions(
  lab: FullLab,
): Pick<
  WorkflowRunOptions,
  | 'repository'
  | 'token'
  | 'apiUrl'
  | 'serverUrl'
  | 'vars'
  | 'environments'
  | 'environmentRules'
  | 'concurrency'
  | 'lab'
> {
  if (!concurrencyOf.has(lab)) concurrencyOf.set(lab, new ConcurrencyGroups());
  return {
    environmentRules: labEnvironmentRules(lab),
    concurrency: concurrencyOf.get(lab)!,
    repository: `${LAB_OWNER}/${LAB_REPO}`,
    token: LAB_GITHUB_TOKEN,
    apiUrl: lab.github.url,
    serverUrl: lab.github.url,
    vars: {
      OTTR_AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/ottr-lab',
      OTTR_SYNC_ROLE_ARN: 'arn:aws:iam::123456789012:role/ottr-lab-sync',
      OTTR_AWS_REGION: lab.runnerEnv.AWS_REGION ?? 'us-east-1',
    },
    environments: lab.environments,
    lab: {
      origin: lab.origin,
      cloneUrl: `${lab.github.url}/${LAB_OWNER}/${LAB_REPO}.git`,
      awsCredentials: {
        accessKeyId: lab.runnerEnv.AWS_ACCESS_KEY_ID!,
        secretAccessKey: lab.runnerEnv.AWS_SECRET_ACCESS_KEY!,
      },
      appToken: LAB_GITHUB_TOKEN,
    },
  };
}

/** `schedule` (its payload has no repository: the actions take the default branch from GITHUB_REF), or a dispatch. */
function cycleEvent(options: CycleOptions) {
  if (!options.devices && !options.force)
    return {
      name: 'schedule',
      payload: { schedule: '17 5 * * *', workflow: '.github/workflows/rotate.yml' },
    };
  const inputs = {
    ...(options.devices ? { devices: options.devices } : {}),
    ...(options.force ? { force: 'true' } : {}),
  };
  return {
    name: 'workflow_dispatch',
    inputs,
    payload: { inputs, repository: { full_name: `${LAB_OWNER}/${LAB_REPO}`, default_branch: 'main' } },
  };
}

/** Turns the rotate action's lines into progress: each phase's line when it ends, with its time. */
function phaseProgress(say: (line: string) => void) {
  const current = new Map<string, { phase: string; since: number }>();
  const finishPhase = (device: string, outcome: string) => {
    const open = current.get(device);
    if (open) say(`${device.padEnd(16)} ${open.phase.padEnd(9)} ${outcome} (${Date.now() - open.since} ms)`);
    current.delete(device);
  };
  return (line: string) => {
    const started = /^(\S+) (\w+): started$/.exec(line);
    if (started) {
      finishPhase(started[1]!, 'ok');
      current.set(started[1]!, { phase: started[2]!, since: Date.now() });
    }
    const done = /^(\S+) done: (.*)$/.exec(line);
    if (done) {
      finishPhase(done[1]!, done[2] === 'rotated' ? 'ok' : 'failed');
      say(`${done[1]!.padEnd(16)} ${'result'.padEnd(9)} ${done[2]}`);
    }
    const rollback = /^(\S+) rollback: (.*)$/.exec(line);
    if (rollback) say(`${rollback[1]!.padEnd(16)} ${'rollback'.padEnd(9)} ${rollback[2]}`);
  };
}

const actionRun = (job: JobRun | undefined, uses: string) => job?.steps.find((s) => s.uses === uses)?.run;

/** The results the rotate legs uploaded (artifacts ottr-result-<entry id>), one file per device. */
function uploadedResults(run: Awaited<ReturnType<typeof runWorkflow>>): RotationResult[] {
  const results: RotationResult[] = [];
  for (const name of run.artifacts.names().filter((n) => n.startsWith('ottr-result-'))) {
    const dir = run.artifacts.files(name);
    if (!dir) continue;
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort())
      results.push(JSON.parse(readFileSync(join(dir, file), 'utf8')) as RotationResult);
  }
  return results;
}

/**
 * One run of rotate.yml in the lab, read from the workflow file and run by the lab's workflow runner
 * (`workflow-runner/`): plan on ubuntu-latest, one rotate leg per matrix entry on its data center's runner in its
 * environment, report after every leg, pages skipped. Every local action is its committed bundle, run as the
 * runner runs it; the pinned remote actions are the runner's stand-ins.
 */
export async function runCycle(lab: FullLab, options: CycleOptions = {}): Promise<CycleOutcome> {
  const started = Date.now();
  const id = ++cycles;
  const say = options.progress ?? (() => {});
  const dir = join(lab.dir, `cycle-${id}`);
  mkdirSync(dir, { recursive: true });
  say(
    `plan: ${options.devices ? `devices ${options.devices}` : 'the whole inventory'}${options.force ? ', forced' : ''}`,
  );
  const progressOf = new Map<string, (line: string) => void>();
  const run = await runWorkflow(await rotateWorkflow(options.now), {
    event: cycleEvent(options),
    ...labWorkflowOptions(lab),
    jobToken: emulatorJobTokens(lab.github),
    runners: labRunners(lab, Math.max(1, options.maxParallel ?? 20)),
    dir,
    runId: 1000 + id,
    noRunnerMs: 2000,
    onLine: (job, line) => {
      if (!job.startsWith('rotate')) return;
      if (!progressOf.has(job)) progressOf.set(job, phaseProgress(say));
      progressOf.get(job)!(line);
    },
    beforeJob: async (job, finished) => {
      if (job === 'rotate') {
        const planned = actionRun(
          finished.find((j) => j.job === 'plan'),
          './actions/plan',
        );
        if (planned)
          say(
            `plan: ${planned.outputs.due_count} due, ${planned.outputs.skipped_count} not due or skipped → ${entriesOf(planned).length} job(s)`,
          );
      }
      if (job !== 'report') return;
      await options.beforeReport?.();
      say('report: applying the results, opening the pull request, notifying');
    },
  });
  const planJob = run.jobs.find((j) => j.job === 'plan');
  const plan = actionRun(planJob, './actions/plan');
  if (!plan || planJob?.conclusion !== 'success')
    throw new Error(
      `the plan job failed: ${planJob?.message ?? 'it did not run'}\n${plan?.stdout ?? ''}${plan?.stderr ?? ''}`,
    );
  const legs = run.jobs.filter((j) => j.job === 'rotate' && j.matrix);
  for (const leg of legs.filter((l) => l.conclusion !== 'success'))
    say(`${leg.name}: ${leg.conclusion}${leg.message ? `: ${leg.message}` : ''}`);
  const report = actionRun(
    run.jobs.find((j) => j.job === 'report'),
    './actions/report',
  );
  if (report)
    say(
      `report: pull request ${report.outputs['pull-request-action'] ?? '?'} ${report.outputs['pull-request-url'] ?? ''}`.trimEnd(),
    );
  return {
    plan,
    matrix: entriesOf(plan),
    jobs: legs.map((leg) => ({
      entry: leg.matrix as unknown as MatrixEntry,
      ...(actionRun(leg, './actions/rotate') ? { run: actionRun(leg, './actions/rotate')! } : {}),
      ms: leg.ms ?? 0,
      leg,
    })),
    ...(report ? { report } : {}),
    results: uploadedResults(run),
    listing: run.jobs,
    ms: Date.now() - started,
  };
}

function entriesOf(plan: ActionRun): MatrixEntry[] {
  return (JSON.parse(plan.outputs.matrix || '{"include":[]}') as { include: MatrixEntry[] }).include;
}
