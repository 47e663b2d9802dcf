import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import {
  asString,
  type Contexts,
  declared,
  evaluateToken,
  type JobStatus,
  WorkflowError,
} from './expressions.ts';
import type { MatrixLeg } from './matrix.ts';
import type { LabRunner, RunnerPool } from './runner-pool.ts';
import {
  declaredOutputsOf,
  runStep,
  type StepRun,
  type StepScope,
  stepLabel,
  stepRuns,
  stepsContext,
} from './steps.ts';
import type { WorkflowJob } from './workflow.ts';
import type { Annotation } from './workflow-commands.ts';

export type JobConclusion = 'success' | 'failure' | 'cancelled' | 'skipped';

/** One job as GitHub lists it: a job, or one leg of a matrix job. */
export interface JobRun {
  job: string;
  name: string;
  conclusion: JobConclusion;
  message?: string | undefined;
  matrix?: MatrixLeg;
  runner?: string;
  environment?: string;
  permissions: Record<string, string>;
  outputs: Record<string, string>;
  steps: StepRun[];
  /** Every `::error` / `::warning` / `::notice` its steps printed, as the check run lists them. */
  annotations?: Annotation[];
  /** The job summary: its steps' GITHUB_STEP_SUMMARY, in order. */
  summary?: string;
  /** From a runner picking the leg up to its last step (absent for a job that did not run). */
  ms?: number;
}

/** What a leg is run with: the run-level contexts and the lab's pieces. */
export interface LegSetup {
  contexts: Contexts;
  pool: RunnerPool;
  scratch: string;
  minuteMs: number;
  secrets: (environment: string | undefined) => Record<string, string>;
  /** Why the run's ref may not use this environment (its deployment branches), or undefined when it may. */
  environmentRefusal: (environment: string) => string | undefined;
  /** The leg's GITHUB_TOKEN, for its job id and effective permissions. */
  jobToken: (job: string, permissions: Record<string, string>) => string;
  scope: Omit<StepScope, 'contexts' | 'status' | 'workspace' | 'permissions' | 'processEnv'>;
  baseEnv: (job: string, runner: LabRunner, workspace: string) => Record<string, string>;
  onLine?: (job: string, line: string) => void;
}

const NO_STATUS: JobStatus = { success: true, failure: false, cancelled: false };

/** `permissions:` as a map (`read-all` / `write-all` / `{}`); none given: what the repository's default grants. */
export function permissionsOf(value: unknown): Record<string, string> {
  if (value === 'read-all' || value === 'write-all') return { '*': value.split('-')[0]! };
  if (value && typeof value === 'object') return value as Record<string, string>;
  return { '*': 'default' };
}

function environmentName(value: unknown): string | undefined {
  if (typeof value === 'string') return value || undefined;
  if (value && typeof value === 'object') return (value as { name?: string }).name || undefined;
  return undefined;
}

function labelsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.map(String);
  if (value && typeof value === 'object') return ((value as { labels?: unknown }).labels as string[]) ?? [];
  throw new WorkflowError(`runs-on: ${JSON.stringify(value)} names no runner`);
}

/** The job-level values of one leg: runs-on, environment, timeout-minutes and permissions, evaluated. */
function legSettings(job: WorkflowJob, contexts: Contexts) {
  const value = (token: WorkflowJob['runsOn']) =>
    token ? evaluateToken(token, contexts, NO_STATUS) : undefined;
  return {
    labels: labelsOf(value(job.runsOn)),
    environment: environmentName(value(job.environment)),
    timeoutMinutes: Number(value(job.timeoutMinutes) ?? 360),
    permissions: permissionsOf(value(job.permissions)),
  };
}

/** Runs one leg of a job on a matching lab runner, its steps in order, within `timeout-minutes`. */
export async function runLeg(
  job: WorkflowJob,
  name: string,
  leg: Contexts,
  setup: LegSetup,
): Promise<JobRun> {
  const result: JobRun = {
    job: job.id,
    name,
    conclusion: 'success',
    permissions: {},
    outputs: {},
    steps: [],
  };
  if (leg.matrix && Object.keys(leg.matrix as object).length > 0) result.matrix = leg.matrix as MatrixLeg;
  let runner: LabRunner | undefined;
  try {
    const contexts = { ...setup.contexts, ...leg };
    const settings = legSettings(job, contexts);
    Object.assign(result, { environment: settings.environment, permissions: settings.permissions });
    const refused = settings.environment ? setup.environmentRefusal(settings.environment) : undefined;
    if (refused) throw new WorkflowError(refused);
    runner = await setup.pool.acquire(settings.labels);
    result.runner = runner.name;
    const started = Date.now();
    const workspace = mkdtempSync(join(setup.scratch, `${job.id}-`));
    const token = setup.jobToken(job.id, settings.permissions);
    contexts.github = { ...(contexts.github as Record<string, unknown>), token };
    contexts.secrets = { ...setup.secrets(settings.environment), GITHUB_TOKEN: token };
    const timeout = new AbortController();
    const run = runSteps(job, result, {
      contexts,
      workspace,
      setup,
      runner,
      permissions: settings.permissions,
      signal: timeout.signal,
    });
    const timedOut = await Promise.race([
      run.then(() => false),
      timer(settings.timeoutMinutes * setup.minuteMs),
    ]);
    if (timedOut) {
      timeout.abort();
      // The script in progress is killed and no later step starts. An in-process stand-in cannot be killed: the
      // job is over after a short grace either way, as the runner gives up on a process that ignores the signal.
      await Promise.race([run.catch(() => undefined), timer(5_000)]);
      result.conclusion = 'cancelled';
      result.message = `The job has exceeded the maximum execution time of ${goDuration(settings.timeoutMinutes)}`;
    }
    result.ms = Date.now() - started;
  } catch (error) {
    if (!(error instanceof WorkflowError)) throw error;
    Object.assign(result, { conclusion: 'failure', message: error.message });
  } finally {
    if (runner) setup.pool.release(runner);
  }
  return result;
}

/**
 * A job past `timeout-minutes` is cancelled, annotated "The job has exceeded the maximum execution time of 45m0s"
 * (the duration as Go prints it: 1m0s, 45m0s, 6h0m0s), as public runs show (e.g. runs quoted in
 * link-assistant/formal-ai and in jobs that hit the 6 h limit).
 */
function goDuration(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = Math.floor(minutes % 60);
  const s = Math.round((minutes * 60) % 60);
  return `${h > 0 ? `${h}h` : ''}${m}m${s}s`;
}

const timer = (ms: number) => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms).unref());

async function runSteps(
  job: WorkflowJob,
  result: JobRun,
  at: {
    contexts: Contexts;
    workspace: string;
    setup: LegSetup;
    runner: LabRunner;
    permissions: Record<string, string>;
    signal: AbortSignal;
  },
): Promise<void> {
  const { contexts, workspace, setup, runner, permissions, signal } = at;
  const status: JobStatus = { success: true, failure: false, cancelled: false };
  const processEnv = { ...(runner.env ?? {}), ...setup.baseEnv(job.id, runner, workspace) };
  const workflowEnv = (contexts.env ?? {}) as Record<string, unknown>;
  const jobEnv = job.env ? (evaluateToken(job.env, contexts, status) as Record<string, unknown>) : {};
  const declaredOutputs = new Map(
    job.steps.map((s) => [s.id, declaredOutputsOf(s, setup.scope.actionsRoot)]),
  );
  for (const step of job.steps) {
    if (signal.aborted) break;
    const env = { ...workflowEnv, ...jobEnv };
    const stepContexts = { ...contexts, env, steps: stepsContext(result.steps, declaredOutputs) };
    const scope: StepScope = {
      ...setup.scope,
      ...(setup.onLine ? { onLine: (line: string) => setup.onLine?.(result.name, line) } : {}),
      contexts: stepContexts,
      status,
      workspace,
      permissions,
      processEnv,
      signal,
    };
    for (const [k, v] of Object.entries(env)) processEnv[k] = asString(v, `env.${k}`);
    const run = stepRuns(step, scope)
      ? await runStep(step, scope)
      : { id: step.id, uses: step.uses, conclusion: 'skipped' as const, warnings: [], outputs: {} };
    result.steps.push(run);
    if (run.conclusion === 'failure' && !step.continueOnError) {
      Object.assign(status, { success: false, failure: true });
      result.conclusion = 'failure';
      result.message ??= `${step.uses || stepLabel(step)}: ${run.message ?? 'failed'}`;
    }
  }
  result.annotations = result.steps.flatMap((s) => s.annotations ?? []);
  result.summary = result.steps.map((s) => s.summary ?? '').join('');
  result.outputs = jobOutputs(
    job,
    { ...contexts, steps: stepsContext(result.steps, declaredOutputs) },
    result,
  );
}

/** The job's `outputs:` evaluated once its steps are done (a refused expression fails the job). */
function jobOutputs(job: WorkflowJob, contexts: Contexts, result: JobRun): Record<string, string> {
  if (!job.outputs) return {};
  try {
    const values = evaluateToken(job.outputs, contexts, NO_STATUS) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, asString(v, `outputs.${k}`)]));
  } catch (error) {
    if (!(error instanceof WorkflowError)) throw error;
    result.conclusion = 'failure';
    result.message ??= `outputs: ${error.message}`;
    return {};
  }
}

/** `needs.<id>` as a dependent job reads it: `result` and the declared outputs (an undeclared one is refused). */
export function needsEntry(
  id: string,
  result: JobConclusion,
  outputNames: string[],
  values: Record<string, string>,
) {
  const outputs = Object.fromEntries(outputNames.map((n) => [n, values[n] ?? '']));
  return { result, outputs: declared(`needs.${id}.outputs`, outputs) };
}
