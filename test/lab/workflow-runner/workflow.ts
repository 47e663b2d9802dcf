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
  WorkflowDispatchConfig,
} from '@actions/workflow-parser/model/workflow-template';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { WorkflowError } from './expressions.ts';

export interface WorkflowStep {
  /** The step's `id:` (or the parser's generated `__…` id for a step without one). */
  id: string;
  name?: string | undefined;
  uses: string;
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
  steps: WorkflowStep[];
}

export interface Workflow {
  file: string;
  name: string;
  env?: TemplateToken | undefined;
  dispatchInputs: WorkflowDispatchConfig['inputs'];
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
    dispatchInputs: template.events.workflow_dispatch?.inputs ?? {},
    jobs: template.jobs.map((job) => {
      if (job.type !== 'job') throw new WorkflowError(`${job.id.value}: the lab runs no reusable workflows`);
      return toJob(job, find(rawJobs, job.id.value), find(root, 'permissions'));
    }),
  };
}

function toJob(job: Job, raw: TemplateToken | undefined, workflowPermissions?: TemplateToken): WorkflowJob {
  const rawSteps = find(raw, 'steps');
  return {
    id: job.id.value,
    needs: (job.needs ?? []).map((n) => n.value),
    if: job.if.expression,
    strategy: job.strategy,
    runsOn: job['runs-on'],
    environment: job.environment,
    timeoutMinutes: find(raw, 'timeout-minutes'),
    permissions: find(raw, 'permissions') ?? workflowPermissions,
    env: job.env,
    outputs: job.outputs,
    steps: job.steps.map((step, i) => {
      if (!('uses' in step)) throw new WorkflowError(`${job.id.value}: the lab runs \`uses:\` steps only`);
      const rawStep = rawSteps && isSequence(rawSteps) ? rawSteps.get(i) : undefined;
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
