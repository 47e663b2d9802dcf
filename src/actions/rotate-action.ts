import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as core from '@actions/core';
import { type RotatePort, rotateJob, workflowRunUrl } from '../jobs/rotate-job.ts';
import type { Plan } from '../plan/build-plan.ts';
import type { MatrixEntry } from '../plan/matrix.ts';
import { JOB_SECRET_SLOTS } from '../secrets/job-secrets.ts';
import { flag, jobSecrets, mask, text } from './inputs.ts';

/** The rotate action's inputs, read once. */
export interface RotateInputs {
  root: string;
  entry: MatrixEntry;
  dryRun: boolean;
  staging: boolean;
  resultsDir: string;
  planFile: string;
}

export function rotateInputs(): RotateInputs {
  const raw = text('entry');
  let entry: MatrixEntry;
  try {
    entry = JSON.parse(raw) as MatrixEntry;
  } catch {
    throw new Error('input entry must be the matrix entry as JSON (pass toJSON(matrix) from the workflow)');
  }
  if (!entry || typeof entry.id !== 'string')
    throw new Error('input entry must be a matrix entry from the plan action (it has no id)');
  if (!Array.isArray(entry.secrets) || !entry.secrets.every((s) => typeof s === 'string'))
    throw new Error(`matrix entry ${entry.id} has no secrets list; re-run the plan with this version`);
  return {
    root: text('root') || '.',
    entry,
    dryRun: flag('dry-run'),
    staging: flag('staging'),
    resultsDir: text('results-dir') || 'ottr-results',
    planFile: text('plan-file') || 'plan.json',
  };
}

/** The devices of one matrix entry: inline, or its shard in the plan file when the matrix was too large. */
export function entryDevices(entry: MatrixEntry, readPlan: () => string): string[] {
  if (entry.devices && entry.devices.length > 0) return entry.devices;
  if (entry.devices_file !== undefined && entry.shard !== undefined) {
    const plan = JSON.parse(readPlan()) as Plan;
    const shard = plan.shards?.[entry.shard];
    if (!shard) throw new Error(`the plan file has no shard ${entry.shard} (entry ${entry.id})`);
    return shard.devices;
  }
  throw new Error(`matrix entry ${entry.id} lists no devices`);
}

/** The action's port: progress as log lines, one log group per phase, secrets masked as the runner masks. */
function actionPort(): RotatePort & { closeGroup(): void } {
  let open = false;
  const group = (title: string | undefined) => {
    if (open) core.endGroup();
    open = title !== undefined;
    if (title) core.startGroup(title);
  };
  return {
    starting() {},
    progress: (device, phase, message) => core.info(`${device} ${phase}: ${message}`),
    group,
    finished(result, outcome) {
      core.info(`${result.system_name} done: ${outcome}`);
      if (result.rollback) core.info(`${result.system_name} rollback: ${result.rollback.message}`);
    },
    secret: mask,
    closeGroup: () => group(undefined),
  };
}

export async function main(): Promise<void> {
  const inputs = rotateInputs();
  const secrets = jobSecrets(inputs.entry.secrets, process.env, JOB_SECRET_SLOTS);
  core.info(
    `secrets: ${secrets.names().length} of ${inputs.entry.secrets.length} from ${secrets.description}`,
  );
  const devices = entryDevices(inputs.entry, () =>
    readFileSync(resolve(inputs.root, inputs.entry.devices_file ?? inputs.planFile), 'utf8'),
  );
  const runUrl = workflowRunUrl(process.env);
  const port = actionPort();
  const outcome = await rotateJob(
    {
      root: inputs.root,
      devices,
      entry: { id: inputs.entry.id, dataCenter: inputs.entry.data_center },
      resultsDir: resolve(inputs.root, inputs.resultsDir),
      env: process.env,
      secrets,
      dryRun: inputs.dryRun,
      staging: inputs.staging,
      ...(runUrl ? { runUrl } : {}),
    },
    port,
  );
  port.closeGroup();
  if (outcome.status === 'unknown-devices')
    throw new Error(`not in the inventory any more: ${outcome.unknown.join(', ')}`);
  if (outcome.status !== 'done') throw new Error(outcome.message);
  core.setOutput('rotated', String(outcome.rotated));
  core.setOutput('failed', String(outcome.failed));
  core.setOutput('results-dir', inputs.resultsDir);
  await core.summary.addRaw(outcome.summary).write();
  if (outcome.failed > 0)
    core.setFailed(
      `${outcome.failed} of ${outcome.results.length} device(s) not rotated; the report job records why`,
    );
}
