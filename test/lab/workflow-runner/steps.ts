import { type ActionRun, runActionBundle } from '../../helpers/action.ts';
import { inputEnv, loadLocalAction, resolveInputs } from './actions.ts';
import type { ArtifactStore, StandInResult } from './artifacts.ts';
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
import { type StandInLab, standInFor } from './stand-ins.ts';
import type { WorkflowStep } from './workflow.ts';

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

/** Runs one `uses:` step: a lab stand-in for a pinned remote action, or the local action's committed bundle. */
export async function runStep(step: WorkflowStep, scope: StepScope): Promise<StepRun> {
  const base = { id: step.id, uses: step.uses, warnings: [] as string[] };
  try {
    const { env, given, contexts } = stepValues(step, scope);
    const evaluateDefault = (token: Parameters<typeof evaluateToken>[0]) =>
      asString(evaluateToken(token, contexts, scope.status), `${step.uses} default`);
    if (step.uses.startsWith('./')) return await runLocal(step, scope, { env, given, evaluateDefault }, base);
    const standIn = standInFor(step.uses);
    if (!standIn) throw new WorkflowError(`${step.uses}: the lab has no stand-in for this action`);
    const inputs = resolveInputs(step.uses, standIn.inputs, given, evaluateDefault);
    const result = standIn.run({ ...scope, inputs });
    return fromStandIn(base, standIn.outputs, result, scope);
  } catch (error) {
    if (!(error instanceof WorkflowError)) throw error;
    return { ...base, conclusion: 'failure', message: error.message, outputs: {} };
  }
}

function fromStandIn(
  base: Pick<StepRun, 'id' | 'uses' | 'warnings'>,
  declaredOutputs: string[],
  result: StandInResult,
  scope: StepScope,
): StepRun {
  Object.assign(scope.processEnv, result.exportEnv ?? {});
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
  const env = { ...scope.processEnv, ...values.env, ...inputEnv(inputs) };
  const run = await runActionBundle(action.name, {}, env, scope.event, scope.onLine);
  const outputs = Object.fromEntries(action.outputs.map((o) => [o, run.outputs[o] ?? '']));
  const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
  return {
    ...base,
    conclusion: run.code === 0 ? 'success' : 'failure',
    message: run.code === 0 ? undefined : errors.join('\n') || `exit code ${run.code}`,
    outputs: { ...run.outputs, ...outputs },
    run,
  };
}

/** `steps.<id>` for the steps that have an `id:` (the parser's generated `__…` ids are not in the context). */
export function stepsContext(runs: readonly StepRun[], declaredOutputs: Map<string, string[]>) {
  const entries: Record<string, unknown> = {};
  for (const run of runs) {
    if (run.id.startsWith('__')) continue;
    const names = new Set([...(declaredOutputs.get(run.id) ?? []), ...Object.keys(run.outputs)]);
    const values = Object.fromEntries([...names].map((n) => [n, run.outputs[n] ?? '']));
    entries[run.id] = {
      outputs: declared(`steps.${run.id}.outputs`, values),
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
