import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as core from '@actions/core';
import type { RotationResult } from '../model/results.ts';
import type { MatrixEntry } from '../plan/matrix.ts';
import type { Plan } from '../plan/plan.ts';
import { JOB_SECRET_SLOTS } from '../plan/secrets.ts';
import { loadRepository } from '../repository/load.ts';
import { rotateMany } from '../rotate/run.ts';
import { rotationSummary } from '../rotate/summary.ts';
import type { SecretSource } from '../secrets/source.ts';
import { writeFileAtomic } from '../util/files.ts';
import { flag, jobSecrets, mask, text } from './inputs.ts';

/** The rotate action's inputs, read once. */
export interface RotateSettings {
  root: string;
  entry: MatrixEntry;
  dryRun: boolean;
  staging: boolean;
  resultsDir: string;
  planFile: string;
}

export function rotateSettings(): RotateSettings {
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

export interface RotateOutcome {
  results: RotationResult[];
  failed: number;
}

/** Rotates every device of the entry; result files are written as each device finishes. */
export async function rotateEntry(
  settings: RotateSettings,
  env: NodeJS.ProcessEnv,
  secrets: SecretSource,
  progress: (line: string) => void,
  phaseGroup?: (title: string | undefined) => void,
): Promise<RotateOutcome> {
  const names = entryDevices(settings.entry, () =>
    readFileSync(resolve(settings.root, settings.entry.devices_file ?? settings.planFile), 'utf8'),
  );
  const repo = await loadRepository(settings.root);
  if (!repo.settings || !repo.routes)
    throw new Error('routing/settings.yaml or routing/routes.yaml is invalid (ottr validate shows why)');
  const byName = new Map(repo.records.map((r) => [r.system_name, r]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length > 0) throw new Error(`not in the inventory any more: ${missing.join(', ')}`);
  // An entry runs in one data center's environment: a device of another data center is never rotated here.
  const strangers = names.filter((n) => byName.get(n)!.device?.data_center !== settings.entry.data_center);
  if (strangers.length > 0)
    throw new Error(
      `matrix entry ${settings.entry.id} is for data center ${settings.entry.data_center}, but ${strangers.join(', ')} ${strangers.length > 1 ? 'are' : 'is'} not a valid device of it`,
    );
  const runUrl =
    env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  // Groups per phase only make sense when one device runs: parallel devices would interleave them.
  const grouped = names.length === 1 && phaseGroup !== undefined;
  const results = await rotateMany(
    repo,
    names.map((n) => byName.get(n)!),
    repo.settings.limits?.shard_concurrency ?? 4,
    {
      env,
      secrets,
      ...(settings.dryRun ? { dryRun: true } : {}),
      ...(settings.staging ? { staging: true } : {}),
      ...(runUrl ? { runUrl } : {}),
      onSecret: mask,
      log: (device, phase, message) => {
        if (grouped && message === 'started') phaseGroup(`${device}: ${phase}`);
        progress(`${device} ${phase}: ${message}`);
      },
    },
    (result) => {
      if (grouped) phaseGroup(undefined);
      writeFileAtomic(
        join(resolve(settings.root, settings.resultsDir), `${result.system_name}.json`),
        `${JSON.stringify(result, null, 2)}\n`,
      );
      const outcome = result.error
        ? `${result.status}: ${result.error.phase} ${result.error.class}: ${result.error.message}`
        : result.status;
      progress(`${result.system_name} done: ${outcome}`);
      if (result.rollback) progress(`${result.system_name} rollback: ${result.rollback.message}`);
    },
  );
  return {
    results,
    failed: results.filter((r) => r.status === 'failed' || r.status === 'rolled_back').length,
  };
}

export async function main(): Promise<void> {
  const settings = rotateSettings();
  const secrets = jobSecrets(settings.entry.secrets, process.env, JOB_SECRET_SLOTS);
  core.info(
    `secrets: ${secrets.names().length} of ${settings.entry.secrets.length} from ${secrets.description}`,
  );
  let open = false;
  const outcome = await rotateEntry(settings, process.env, secrets, core.info, (title) => {
    if (open) core.endGroup();
    open = title !== undefined;
    if (title) core.startGroup(title);
  });
  if (open) core.endGroup();
  core.setOutput('rotated', String(outcome.results.filter((r) => r.status === 'rotated').length));
  core.setOutput('failed', String(outcome.failed));
  core.setOutput('results-dir', settings.resultsDir);
  await core.summary.addRaw(rotationSummary(outcome.results)).write();
  if (outcome.failed > 0)
    core.setFailed(
      `${outcome.failed} of ${outcome.results.length} device(s) not rotated; the report job records why`,
    );
}
