import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, delimiter as pathDelimiter } from 'node:path';
import { type ActionRun, runActionBundle } from '../../helpers/action.ts';
import { inputEnv, loadLocalAction, resolveInputs } from './actions.ts';
import type { ArtifactStore } from './artifacts.ts';
import { eventEnvironment } from './events.ts';
import {
  asString,
  type Contexts,
  declared,
  evaluate,
  evaluateToken,
  type JobStatus,
  truthy,
  WorkflowError,
} from './expressions.ts';
import { runScript } from './run-step.ts';
import { type StandInLab, type StandInOutcome, standInFor } from './stand-ins.ts';
import type { WorkflowStep } from './workflow.ts';
import { type Annotation, WorkflowCommands } from './workflow-commands.ts';

export type StepConclusion = 'success' | 'failure' | 'skipped';

export interface StepRun {
  id: string;
  uses: string;
  conclusion: StepConclusion;
  /** Why it failed (the action's ::error:: lines, or the lab's refusal). */
  message?: string | undefined;
  warnings: string[];
  outputs: Record<string, string>;
  /** The action process, for a local action. */
  run?: ActionRun;
  /** The `::error` / `::warning` / `::notice` lines the step printed, as the check run lists them. */
  annotations?: Annotation[];
  /** What the step appended to GITHUB_STEP_SUMMARY. */
  summary?: string;
  /** A `run:` step's log (masked, workflow commands taken out); its exit code. */
  log?: string[];
  exitCode?: number;
}

/** The job's workflow commands (its masks and annotations), one per job: keyed by the job's process environment. */
const jobCommands = new WeakMap<Record<string, string>, WorkflowCommands>();

function commandsOf(scope: StepScope): WorkflowCommands {
  let commands = jobCommands.get(scope.processEnv);
  if (!commands) {
    const secrets = Object.values((scope.contexts.secrets ?? {}) as Record<string, unknown>);
    commands = new WorkflowCommands(secrets.filter((v): v is string => typeof v === 'string'));
    jobCommands.set(scope.processEnv, commands);
  }
  return commands;
}

/** A step as the log names it: `name:`, else the action, else `Run <the script's first line>`. */
export function stepLabel(step: WorkflowStep): string {
  if (step.name) return step.name;
  if (step.uses) return step.uses;
  return `Run ${(step.script ?? '').trim().split('\n')[0]}`;
}

/**
 * The default variables the runner gives every step beyond what the job sets (docs.github.com/en/actions/reference/
 * workflows-and-actions/variables#default-environment-variables): RUNNER_TEMP (one per job), RUNNER_OS / ARCH,
 * GITHUB_EVENT_PATH (the event payload, written once per job), GITHUB_SHA, GITHUB_BASE_REF / HEAD_REF, GITHUB_ACTION.
 */
function defaultEnvironment(step: WorkflowStep, scope: StepScope): Record<string, string> {
  const temp = scope.processEnv.RUNNER_TEMP ?? `${scope.workspace}.temp`;
  const eventPath = join(temp, '_github_workflow', 'event.json');
  if (!existsSync(eventPath)) {
    mkdirSync(dirname(eventPath), { recursive: true });
    writeFileSync(eventPath, JSON.stringify(scope.event ?? {}));
  }
  const env = scope.processEnv;
  return {
    HOME: process.env.HOME ?? '',
    ...eventEnvironment(
      env.GITHUB_EVENT_NAME ?? '',
      scope.event,
      env.GITHUB_REF ?? 'refs/heads/main',
      scope.lab.origin,
    ),
    ...Object.fromEntries(
      ['GITHUB_SHA', 'GITHUB_BASE_REF', 'GITHUB_HEAD_REF'].filter((k) => env[k]).map((k) => [k, env[k]!]),
    ),
    RUNNER_TEMP: temp,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: process.arch === 'arm64' ? 'ARM64' : 'X64',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_ACTION: step.id,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
  };
}

/** What a step runs in: its job's contexts, workspace, permissions and environment so far. */
export interface StepScope {
  contexts: Contexts;
  status: JobStatus;
  workspace: string;
  permissions: Record<string, string>;
  /** The runner's and GitHub's variables plus what earlier steps exported. */
  processEnv: Record<string, string>;
  artifacts: ArtifactStore;
  lab: StandInLab;
  actionsRoot: string;
  event: unknown;
  onLine?: (line: string) => void;
  /** Aborted when the job passes its timeout-minutes: a running script is killed. */
  signal?: AbortSignal;
}

/** The step's `if:` evaluated with the step-level status functions; a step that does not run is `skipped`. */
export function stepRuns(step: WorkflowStep, scope: StepScope): boolean {
  return truthy(evaluate(step.if, scope.contexts, scope.status));
}

function stringMap(value: unknown, where: string): Record<string, string> {
  const map = (value ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, asString(v, `${where}.${k}`)]));
}

/** The step's `env:` and `with:` evaluated; `env` joins the env context for its own `with:`, as on GitHub. */
export function stepValues(step: WorkflowStep, scope: StepScope) {
  const env = step.env
    ? stringMap(evaluateToken(step.env, scope.contexts, scope.status), `${step.id}.env`)
    : {};
  const contexts = { ...scope.contexts, env: { ...(scope.contexts.env as object), ...env } };
  const given = step.with
    ? stringMap(evaluateToken(step.with, contexts, scope.status), `${step.id}.with`)
    : {};
  return { env, given, contexts };
}

/**
 * Runs one step: a `run:` script (run-step.ts), a lab stand-in for a pinned remote action, or the local action's
 * committed bundle. Every kind's workflow commands go to the job's annotations; its summary to the job summary.
 */
export async function runStep(step: WorkflowStep, scope: StepScope): Promise<StepRun> {
  const base = { id: step.id, uses: step.uses, warnings: [] as string[] };
  try {
    const { env, given, contexts } = stepValues(step, scope);
    const evaluateDefault = (token: Parameters<typeof evaluateToken>[0]) =>
      asString(evaluateToken(token, contexts, scope.status), `${step.uses} default`);
    if (step.run) return await runShellStep(step, scope, { env, contexts }, base);
    if (step.uses.startsWith('./')) return await runLocal(step, scope, { env, given, evaluateDefault }, base);
    const standIn = standInFor(step.uses);
    if (!standIn) throw new WorkflowError(`${step.uses}: the lab has no stand-in for this action`);
    const inputs = resolveInputs(step.uses, standIn.inputs, given, evaluateDefault);
    const result = await standIn.run({
      ...scope,
      processEnv: { ...defaultEnvironment(step, scope), ...scope.processEnv },
      inputs,
    });
    return fromStandIn(base, standIn.outputs, result, scope);
  } catch (error) {
    if (!(error instanceof WorkflowError)) throw error;
    return { ...base, conclusion: 'failure', message: error.message, outputs: {} };
  }
}

/** Puts directories in front of the job's PATH for its later steps (GITHUB_PATH, or an action adding a tool). */
function prependPath(scope: StepScope, dirs: readonly string[]): void {
  if (dirs.length === 0) return;
  const current = scope.processEnv.PATH ?? process.env.PATH ?? '';
  scope.processEnv.PATH = [...dirs, current].join(pathDelimiter);
}

/** A `run:` step: its script through the shell (run-step.ts), its file commands applied to the job. */
async function runShellStep(
  step: WorkflowStep,
  scope: StepScope,
  values: { env: Record<string, string>; contexts: Contexts },
  base: Pick<StepRun, 'id' | 'uses' | 'warnings'>,
): Promise<StepRun> {
  const label = stepLabel(step);
  const run = await runScript({
    step,
    label,
    contexts: values.contexts,
    status: scope.status,
    workspace: scope.workspace,
    env: { ...scope.processEnv, ...values.env, ...defaultEnvironment(step, scope) },
    commands: commandsOf(scope),
    onLine: scope.onLine,
    signal: scope.signal,
  });
  Object.assign(scope.processEnv, run.exportEnv);
  prependPath(scope, run.addPath);
  // The runner reports a failed script as an error annotation of its own (`##[error]Process completed …`).
  const exit = `Process completed with exit code ${run.code}.`;
  if (run.code !== 0) run.annotations.push({ level: 'error', message: exit, step: label });
  return {
    ...base,
    conclusion: run.code === 0 ? 'success' : 'failure',
    message: run.code === 0 ? undefined : exit,
    outputs: run.outputs,
    annotations: run.annotations,
    summary: run.summary,
    log: run.log,
    exitCode: run.code,
  };
}

function fromStandIn(
  base: Pick<StepRun, 'id' | 'uses' | 'warnings'>,
  declaredOutputs: string[],
  result: StandInOutcome,
  scope: StepScope,
): StepRun {
  Object.assign(scope.processEnv, result.exportEnv ?? {});
  prependPath(scope, result.addPath ?? []);
  for (const warning of result.warnings ?? []) scope.onLine?.(`lab: ${warning}`);
  const outputs = Object.fromEntries(declaredOutputs.map((o) => [o, result.outputs?.[o] ?? '']));
  return {
    ...base,
    warnings: result.warnings ?? [],
    conclusion: result.ok ? 'success' : 'failure',
    message: result.message,
    outputs,
  };
}

async function runLocal(
  step: WorkflowStep,
  scope: StepScope,
  values: {
    env: Record<string, string>;
    given: Record<string, string>;
    evaluateDefault: (t: Parameters<typeof evaluateToken>[0]) => string;
  },
  base: Pick<StepRun, 'id' | 'uses' | 'warnings'>,
): Promise<StepRun> {
  const action = loadLocalAction(scope.actionsRoot, step.uses);
  if (!/^node(20|24)$/.test(action.using) || action.main !== 'dist/index.mjs')
    throw new WorkflowError(
      `${step.uses}: runs.using ${action.using} main ${action.main} is not a lab bundle`,
    );
  const inputs = resolveInputs(step.uses, action.inputs, values.given, values.evaluateDefault);
  const env = {
    ...defaultEnvironment(step, scope),
    ...scope.processEnv,
    ...values.env,
    ...inputEnv(inputs),
  };
  const run = await runActionBundle(action.name, {}, env, scope.event, scope.onLine);
  const outputs = Object.fromEntries(action.outputs.map((o) => [o, run.outputs[o] ?? '']));
  const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
  const commands = commandsOf(scope);
  const before = commands.annotations.length;
  for (const line of `${run.stdout}\n${run.stderr}`.split('\n')) commands.line(line, stepLabel(step));
  return {
    ...base,
    conclusion: run.code === 0 ? 'success' : 'failure',
    message: run.code === 0 ? undefined : errors.join('\n') || `exit code ${run.code}`,
    outputs: { ...run.outputs, ...outputs },
    run,
    annotations: commands.annotations.slice(before),
    summary: commands.mask(run.summary),
  };
}

/** `steps.<id>` for the steps that have an `id:` (the parser's generated `__…` ids are not in the context). */
export function stepsContext(runs: readonly StepRun[], declaredOutputs: Map<string, string[]>) {
  const entries: Record<string, unknown> = {};
  for (const run of runs) {
    if (run.id.startsWith('__')) continue;
    const names = new Set([...(declaredOutputs.get(run.id) ?? []), ...Object.keys(run.outputs)]);
    const values = Object.fromEntries([...names].map((n) => [n, run.outputs[n] ?? '']));
    // A run: step declares no outputs: once it succeeded, what it wrote to GITHUB_OUTPUT is all it has (another
    // name is refused); skipped or failed, any name is null, as on GitHub.
    const undeclared = run.uses === '' && run.conclusion !== 'success';
    entries[run.id] = {
      outputs: undeclared ? values : declared(`steps.${run.id}.outputs`, values),
      outcome: run.conclusion,
      conclusion: run.conclusion,
    };
  }
  return declared('steps', entries);
}

/** The outputs a step's action declares, for a step not run yet or skipped. */
export function declaredOutputsOf(step: WorkflowStep, actionsRoot: string): string[] {
  if (step.uses.startsWith('./')) return loadLocalAction(actionsRoot, step.uses).outputs;
  return standInFor(step.uses)?.outputs ?? [];
}
