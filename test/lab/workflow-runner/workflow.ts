import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  convertWorkflowTemplate,
  isMapping,
  isSequence,
  NoOperationTraceWriter,
  parseWorkflow,
} from '@actions/workflow-parser';
import type {
  ActionStep,
  Job,
  RunStep,
  WorkflowDispatchConfig,
} from '@actions/workflow-parser/model/workflow-template';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { parse as parseYaml } from 'yaml';
import { WorkflowError } from './expressions.ts';

export interface WorkflowStep {
  /** The step's `id:` (or the parser's generated `__…` id for a step without one). */
  id: string;
  name?: string | undefined;
  /** The action of a `uses:` step; empty for a `run:` step. */
  uses: string;
  /** The script of a `run:` step as the parser reads it (a literal, or its `${{ }}` as one `format(…)`). */
  run?: TemplateToken | undefined;
  /**
   * The script as YAML gives it (block indentation removed), whose `${{ }}` the runner evaluates before it runs.
   * The parser's `run` token is not that: for a multi-line block it formats the YAML source, indentation included.
   */
  script?: string | undefined;
  /** A `run:` step's `shell:` and `working-directory:` (not in the parser's model: read from its tokens). */
  shell?: TemplateToken | undefined;
  workingDirectory?: TemplateToken | undefined;
  /** A `run:` step's job's `defaultsRun` (for the `shell:` and `working-directory:` it leaves out). */
  defaultsRun?: TemplateToken[] | undefined;
  /** The step's `if:` as the parser normalises it (`success() && (…)` unless a status function is named). */
  if: string;
  with?: TemplateToken | undefined;
  env?: TemplateToken | undefined;
  continueOnError: boolean;
}

export interface WorkflowJob {
  id: string;
  needs: string[];
  if: string;
  strategy?: TemplateToken | undefined;
  runsOn?: TemplateToken | undefined;
  environment?: TemplateToken | undefined;
  timeoutMinutes?: TemplateToken | undefined;
  /** The job's `permissions:`, else the workflow's (none given: the repository's default token permissions). */
  permissions?: TemplateToken | undefined;
  env?: TemplateToken | undefined;
  outputs?: TemplateToken | undefined;
  /**
   * `defaults.run` of the workflow, then of the job (the more specific wins, key by key: docs.github.com
   * workflow-syntax `defaults.run` and `jobs.<job_id>.defaults.run`).
   */
  defaultsRun: TemplateToken[];
  steps: WorkflowStep[];
}

export interface Workflow {
  file: string;
  name: string;
  env?: TemplateToken | undefined;
  dispatchInputs: WorkflowDispatchConfig['inputs'];
  /** The workflow's `concurrency:` (a group name, or `group` and `cancel-in-progress`), evaluated per run. */
  concurrency?: TemplateToken | undefined;
  jobs: WorkflowJob[];
}

const find = (token: TemplateToken | undefined, key: string): TemplateToken | undefined =>
  token && isMapping(token) ? token.find(key) : undefined;

/**
 * Reads a workflow with GitHub's own parser (@actions/workflow-parser: parseWorkflow, then convertWorkflowTemplate,
 * the model the Actions service builds). What the converted model leaves out (`permissions`, `timeout-minutes`,
 * a step's `with:`) is read from the same parsed template tokens. A workflow the parser refuses is refused.
 */
export async function loadWorkflow(file: string, content = readFileSync(file, 'utf8')): Promise<Workflow> {
  const parsed = parseWorkflow({ name: basename(file), content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (errors.length > 0 || !parsed.value) throw new WorkflowError(`${file}: ${errors.join('; ')}`);
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  const converted = (template.errors ?? []).map((e) => e.Message);
  if (converted.length > 0) throw new WorkflowError(`${file}: ${converted.join('; ')}`);
  const root = parsed.value;
  const rawJobs = find(root, 'jobs');
  return {
    file,
    name: String((find(root, 'name') as { value?: string } | undefined)?.value ?? basename(file)),
    env: find(root, 'env'),
    concurrency: find(root, 'concurrency'),
    dispatchInputs: template.events.workflow_dispatch?.inputs ?? {},
    jobs: template.jobs.map((job) => {
      if (job.type !== 'job') throw new WorkflowError(`${job.id.value}: the lab runs no reusable workflows`);
      return toJob(job, find(rawJobs, job.id.value), root, scriptsOf(content, job.id.value));
    }),
  };
}

/** Each step's `run:` value of a job, as YAML parses the file (undefined for a `uses:` step). */
function scriptsOf(content: string, jobId: string): (string | undefined)[] {
  const doc = parseYaml(content) as { jobs?: Record<string, { steps?: { run?: unknown }[] }> };
  return (doc.jobs?.[jobId]?.steps ?? []).map((s) => (typeof s?.run === 'string' ? s.run : undefined));
}

function toJob(
  job: Job,
  raw: TemplateToken | undefined,
  root: TemplateToken,
  scripts: (string | undefined)[],
): WorkflowJob {
  const rawSteps = find(raw, 'steps');
  const defaultsRun = [find(find(root, 'defaults'), 'run'), find(find(raw, 'defaults'), 'run')].filter(
    (t): t is TemplateToken => t !== undefined,
  );
  return {
    id: job.id.value,
    needs: (job.needs ?? []).map((n) => n.value),
    if: job.if.expression,
    strategy: job.strategy,
    runsOn: job['runs-on'],
    environment: job.environment,
    timeoutMinutes: find(raw, 'timeout-minutes'),
    permissions: find(raw, 'permissions') ?? find(root, 'permissions'),
    env: job.env,
    outputs: job.outputs,
    defaultsRun,
    steps: job.steps.map((step, i) => {
      const rawStep = rawSteps && isSequence(rawSteps) ? rawSteps.get(i) : undefined;
      if ('run' in step) return { ...toRunStep(step as RunStep, rawStep, defaultsRun), script: scripts[i] };
      if (!('uses' in step))
        throw new WorkflowError(`${job.id.value}: the lab runs \`uses:\` and \`run:\` steps only`);
      return toStep(step as ActionStep, find(rawStep, 'with'));
    }),
  };
}

function toStep(step: ActionStep, withToken?: TemplateToken): WorkflowStep {
  return {
    id: step.id,
    name: (step.name as { value?: string } | undefined)?.value,
    uses: step.uses.value,
    if: step.if.expression,
    with: withToken,
    env: step.env,
    continueOnError: step['continue-on-error'] === true,
  };
}

function toRunStep(
  step: RunStep,
  raw: TemplateToken | undefined,
  defaultsRun: TemplateToken[],
): WorkflowStep {
  return {
    id: step.id,
    name: (step.name as { value?: string } | undefined)?.value,
    uses: '',
    run: step.run,
    shell: find(raw, 'shell'),
    workingDirectory: find(raw, 'working-directory'),
    defaultsRun,
    if: step.if.expression,
    env: step.env,
    continueOnError: step['continue-on-error'] === true,
  };
}
