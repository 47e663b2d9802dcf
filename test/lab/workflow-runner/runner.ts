import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../helpers/cli.ts';
import { ArtifactStore } from './artifacts.ts';
import type { ConcurrencyGroups } from './concurrency.ts';
import { type Contexts, declared, evaluate, evaluateToken, truthy, WorkflowError } from './expressions.ts';
import { type JobConclusion, type JobRun, type LegSetup, needsEntry, runLeg } from './job.ts';
import type { MintJobToken } from './job-tokens.ts';
import { expandMatrix, legName } from './matrix.ts';
import { type LabRunner, RunnerPool } from './runner-pool.ts';
import type { StandInLab } from './stand-ins.ts';
import type { Workflow, WorkflowJob } from './workflow.ts';

export type { JobRun } from './job.ts';
export type { LabRunner } from './runner-pool.ts';
export { loadWorkflow } from './workflow.ts';

export interface WorkflowRunOptions {
  /** `workflow_dispatch` inputs as the API takes them (strings), or the event's payload for another event. */
  event: { name: string; inputs?: Record<string, string>; payload?: Record<string, unknown> };
  repository: string;
  ref?: string;
  /** The GITHUB_TOKEN of every job, unless `jobToken` mints one per job. */
  token: string;
  /**
   * Mints each job's own GITHUB_TOKEN for its effective `permissions:` (`emulatorJobTokens(emulator)` registers
   * them with the GitHub emulator); that job alone sees it as `secrets.GITHUB_TOKEN` and `github.token`.
   */
  jobToken?: MintJobToken;
  apiUrl: string;
  serverUrl: string;
  vars?: Record<string, string>;
  /** Repository and organisation secrets (every job sees them). */
  secrets?: Record<string, string>;
  /** Environment secrets by environment name (only a job in that environment sees them). */
  environments?: Record<string, Record<string, string>>;
  runners: LabRunner[];
  lab: StandInLab;
  /** Scratch directory for workspaces and artifacts. */
  dir: string;
  runId?: number;
  /** How long a job no runner matches stays queued before it fails (default 500 ms). */
  noRunnerMs?: number;
  /** A `timeout-minutes` minute in the lab (default a real minute). */
  minuteMs?: number;
  actionsRoot?: string;
  /** Every line an action prints, with the name of the job (leg) that ran it. */
  onLine?: (job: string, line: string) => void;
  /** Runs when a job's `needs:` are done, before its `if:` is evaluated (the lab's hook between jobs). */
  beforeJob?: (job: string, finished: readonly JobRun[]) => Promise<void> | void;
  /** The repository's concurrency groups, shared by its runs: the workflow's `concurrency:` waits in them. */
  concurrency?: ConcurrencyGroups;
  /**
   * Environment protection rules by environment name: `deploymentBranches` (Settings → Environments →
   * Deployment branches and tags: the branch name patterns allowed, `*` within a name). A job in an environment
   * whose rule the run's ref does not satisfy fails before it starts, with GitHub's message, and is never given
   * the environment's secrets.
   */
  environmentRules?: Record<string, { deploymentBranches?: string[] }>;
}

export interface WorkflowRun {
  conclusion: 'success' | 'failure' | 'cancelled';
  /** Why the run was cancelled (its concurrency group), when it was. */
  message?: string;
  /** Every job as GitHub lists it (a matrix job as its legs), in the order they finished. */
  jobs: JobRun[];
  artifacts: ArtifactStore;
}

/**
 * Inputs as the `inputs` context types them (booleans as booleans, docs.github.com/en/actions/reference/
 * workflows-and-actions/contexts#inputs-context); an input the workflow does not define is refused as the API
 * refuses it (422 "Unexpected inputs provided").
 */
export function dispatchInputs(
  workflow: Workflow,
  given: Record<string, string> = {},
): Record<string, unknown> {
  const defined = workflow.dispatchInputs ?? {};
  const unexpected = Object.keys(given).filter((k) => !(k in defined));
  if (unexpected.length > 0)
    throw new WorkflowError(`Unexpected inputs provided: ${JSON.stringify(unexpected)}`);
  const inputs: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(defined)) {
    const raw = given[name] ?? (def.default === undefined ? '' : String(def.default));
    inputs[name] = def.type === 'boolean' ? raw === 'true' : raw;
  }
  return inputs;
}

/** Runs a workflow as GitHub runs it: jobs in `needs:` order, each leg on a matching lab runner. */
export async function runWorkflow(workflow: Workflow, options: WorkflowRunOptions): Promise<WorkflowRun> {
  mkdirSync(join(options.dir, 'artifacts'), { recursive: true });
  const artifacts = new ArtifactStore(join(options.dir, 'artifacts'));
  const contexts = runContexts(workflow, options);
  const group = concurrencyOf(workflow, contexts);
  if (!group || !options.concurrency) return runJobs(workflow, options, contexts, artifacts);
  const entered = await options.concurrency.enter(group.group, group.cancelInProgress);
  if ('cancelled' in entered)
    return { conclusion: 'cancelled', message: entered.cancelled, jobs: [], artifacts };
  try {
    return await runJobs(workflow, options, contexts, artifacts);
  } finally {
    entered.release();
  }
}

/** The workflow's `concurrency:` evaluated with the run's contexts (github, inputs, vars). */
function concurrencyOf(workflow: Workflow, contexts: Contexts) {
  if (!workflow.concurrency) return undefined;
  const value = evaluateToken(workflow.concurrency, contexts, NO_JOB_STATUS) as
    | string
    | { group?: string; 'cancel-in-progress'?: boolean };
  if (typeof value === 'string') return { group: value, cancelInProgress: false };
  return { group: String(value.group ?? ''), cancelInProgress: value['cancel-in-progress'] === true };
}

async function runJobs(
  workflow: Workflow,
  options: WorkflowRunOptions,
  contexts: Contexts,
  artifacts: ArtifactStore,
): Promise<WorkflowRun> {
  const setup = legSetup(options, contexts, artifacts);
  const results = new Map<string, { conclusion: JobConclusion; outputs: Record<string, string> }>();
  const jobs: JobRun[] = [];
  const pending = [...workflow.jobs];
  while (pending.length > 0) {
    const ready = pending.filter((j) => j.needs.every((n) => results.has(n)));
    if (ready.length === 0)
      throw new WorkflowError(`needs: a cycle or an unknown job in ${pending.map((j) => j.id)}`);
    for (const job of ready) pending.splice(pending.indexOf(job), 1);
    await Promise.all(
      ready.map(async (job) => {
        await options.beforeJob?.(job.id, jobs);
        const legs = await runJob(
          workflow,
          job,
          { ...contexts, needs: needsContext(workflow, job, results) },
          setup,
        );
        jobs.push(...legs);
        results.set(job.id, {
          conclusion: jobConclusion(legs),
          outputs: Object.assign({}, ...legs.map((l) => l.outputs)),
        });
      }),
    );
  }
  const failed = jobs.some((j) => j.conclusion === 'failure' || j.conclusion === 'cancelled');
  return { conclusion: failed ? 'failure' : 'success', jobs, artifacts };
}

function runContexts(workflow: Workflow, options: WorkflowRunOptions): Contexts {
  const [owner] = options.repository.split('/');
  const inputs =
    options.event.name === 'workflow_dispatch' ? dispatchInputs(workflow, options.event.inputs) : {};
  const payload =
    options.event.payload ??
    (options.event.name === 'workflow_dispatch' ? { inputs: options.event.inputs ?? {} } : {});
  const github = {
    token: options.token,
    repository: options.repository,
    repository_owner: owner,
    event_name: options.event.name,
    event: payload,
    ref: options.ref ?? 'refs/heads/main',
    run_id: String(options.runId ?? 4242),
    run_attempt: '1',
    workflow: workflow.name,
    server_url: options.serverUrl,
    api_url: options.apiUrl,
  };
  const base = {
    github,
    inputs,
    vars: options.vars ?? {},
    needs: {},
    matrix: {},
    strategy: {},
    job: {},
    steps: {},
  };
  const env = workflow.env ? evaluateToken(workflow.env, { ...base, secrets: {} }, NO_JOB_STATUS) : {};
  return { ...base, env, secrets: {} };
}

const NO_JOB_STATUS = { success: true, failure: false, cancelled: false };

function legSetup(options: WorkflowRunOptions, contexts: Contexts, artifacts: ArtifactStore): LegSetup {
  const github = contexts.github as Record<string, string>;
  return {
    contexts,
    pool: new RunnerPool(options.runners, options.noRunnerMs ?? 500),
    scratch: options.dir,
    minuteMs: options.minuteMs ?? 60_000,
    jobToken: options.jobToken ?? (() => options.token),
    environmentRefusal: (environment) => environmentRefusal(options, github.ref!, environment),
    ...(options.onLine ? { onLine: options.onLine } : {}),
    secrets: (environment) => ({
      GITHUB_TOKEN: options.token,
      ...(options.secrets ?? {}),
      ...(environment ? (options.environments?.[environment] ?? {}) : {}),
    }),
    scope: {
      artifacts,
      lab: options.lab,
      actionsRoot: options.actionsRoot ?? PROJECT_ROOT,
      event: github.event,
    },
    baseEnv: (job, runner, workspace) => ({
      GITHUB_ACTIONS: 'true',
      CI: 'true',
      GITHUB_REPOSITORY: github.repository!,
      GITHUB_REPOSITORY_OWNER: github.repository_owner!,
      GITHUB_EVENT_NAME: github.event_name!,
      GITHUB_REF: github.ref!,
      GITHUB_REF_NAME: github.ref!.replace(/^refs\/(heads|tags)\//, ''),
      GITHUB_RUN_ID: github.run_id!,
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_WORKFLOW: github.workflow!,
      GITHUB_JOB: job,
      GITHUB_WORKSPACE: workspace,
      GITHUB_API_URL: options.apiUrl,
      GITHUB_SERVER_URL: options.serverUrl,
      RUNNER_NAME: runner.name,
    }),
  };
}

/**
 * GitHub's refusal of a job whose environment does not allow the run's ref
 * (docs.github.com/en/actions/reference/workflows-and-actions/deployments-and-environments#deployment-branches-and-tags;
 * the message as public runs show it: 'Branch "x" is not allowed to deploy to github-pages due to environment
 * protection rules.').
 */
function environmentRefusal(
  options: WorkflowRunOptions,
  ref: string,
  environment: string,
): string | undefined {
  const allowed = options.environmentRules?.[environment]?.deploymentBranches;
  if (!allowed) return undefined;
  const tag = ref.startsWith('refs/tags/');
  const name = ref.replace(/^refs\/(heads|tags)\//, '');
  if (!tag && allowed.some((pattern) => branchPattern(pattern).test(name))) return undefined;
  return `${tag ? 'Tag' : 'Branch'} "${name}" is not allowed to deploy to ${environment} due to environment protection rules.`;
}

/** A deployment branch pattern (Ruby's File.fnmatch, as GitHub documents): `*` stops at `/`, `**` does not. */
function branchPattern(pattern: string): RegExp {
  const body = pattern
    .split('**')
    .map((part) =>
      part
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]'),
    )
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** Every job this one needs, directly or through the jobs it needs. */
function ancestors(workflow: Workflow, job: WorkflowJob, seen = new Set<string>()): Set<string> {
  for (const id of job.needs) {
    if (seen.has(id)) continue;
    seen.add(id);
    const need = workflow.jobs.find((j) => j.id === id);
    if (need) ancestors(workflow, need, seen);
  }
  return seen;
}

function needsContext(
  workflow: Workflow,
  job: WorkflowJob,
  results: Map<string, { conclusion: JobConclusion; outputs: Record<string, string> }>,
) {
  const entries: Record<string, unknown> = {};
  for (const id of job.needs) {
    const need = workflow.jobs.find((j) => j.id === id)!;
    const names = need.outputs ? Object.keys(evaluateOutputNames(need)) : [];
    entries[id] = needsEntry(id, results.get(id)!.conclusion, names, results.get(id)!.outputs);
  }
  return declared('needs', entries);
}

function evaluateOutputNames(job: WorkflowJob): Record<string, true> {
  const names: Record<string, true> = {};
  const token = job.outputs as unknown as Iterable<{ key: { toString(): string } }>;
  for (const pair of token) names[String((pair.key as { value?: string }).value ?? pair.key)] = true;
  return names;
}

/** A matrix job is a failure when a leg failed, else cancelled when a leg was; skipped when it did not run. */
function jobConclusion(legs: JobRun[]): JobConclusion {
  for (const c of ['failure', 'cancelled', 'skipped'] as const)
    if (legs.some((l) => l.conclusion === c)) return c;
  return 'success';
}

/**
 * The job's `if:` with the job-level status functions (from the results of every job it needs, directly or not),
 * then its `strategy`: the legs, at most `max-parallel` at once; with `fail-fast` (the default) a failed leg
 * cancels the legs not started yet.
 */
async function runJob(
  workflow: Workflow,
  job: WorkflowJob,
  contexts: Contexts,
  setup: LegSetup,
): Promise<JobRun[]> {
  const skipped = (name: string, message?: string): JobRun => ({
    job: job.id,
    name,
    conclusion: message ? 'failure' : 'skipped',
    message,
    permissions: {},
    outputs: {},
    steps: [],
  });
  try {
    const conclusions = [...ancestors(workflow, job)].map((id) => contextResult(contexts, id));
    const status = {
      success: conclusions.every((c) => c === 'success'),
      failure: conclusions.some((c) => c === 'failure'),
      cancelled: false,
    };
    if (!truthy(evaluate(job.if, contexts, status))) return [skipped(job.id)];
    const strategy = (job.strategy ? evaluateToken(job.strategy, contexts, NO_JOB_STATUS) : {}) as Record<
      string,
      unknown
    >;
    return await runLegs(job, strategy, contexts, setup);
  } catch (error) {
    if (!(error instanceof WorkflowError)) throw error;
    return [skipped(job.id, error.message)];
  }
}

function contextResult(contexts: Contexts, id: string): JobConclusion {
  const needs = contexts.needs as ReturnType<typeof declared>;
  const entry = needs.pairs().find((p) => p.key === id);
  if (entry)
    return ((entry.value as ReturnType<typeof declared>).get('result')?.coerceString() ??
      'success') as JobConclusion;
  return 'success';
}

async function runLegs(
  job: WorkflowJob,
  strategy: Record<string, unknown>,
  contexts: Contexts,
  setup: LegSetup,
) {
  const legs = expandMatrix(strategy.matrix);
  const failFast = strategy['fail-fast'] !== false;
  const maxParallel = Math.max(1, Number(strategy['max-parallel'] ?? legs.length));
  const runs: JobRun[] = [];
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < legs.length) {
      const index = next++;
      const leg = legs[index]!;
      const name = job.strategy ? legName(job.id, leg) : job.id;
      if (failed && failFast) {
        runs.push({
          job: job.id,
          name,
          conclusion: 'cancelled',
          matrix: leg,
          permissions: {},
          outputs: {},
          steps: [],
        });
        continue;
      }
      const strategyContext = {
        'fail-fast': failFast,
        'job-index': index,
        'job-total': legs.length,
        'max-parallel': maxParallel,
      };
      const run = await runLeg(
        job,
        name,
        { ...contexts, matrix: leg, strategy: strategyContext, job: { status: 'success' } },
        setup,
      );
      if (run.conclusion === 'failure') failed = true;
      runs.push(run);
    }
  };
  await Promise.all(Array.from({ length: Math.min(maxParallel, legs.length) }, worker));
  return runs;
}
