import { join } from 'node:path';
import { isFailure, type RotationResult } from '../model/results.ts';
import { loadRepository } from '../repository/load.ts';
import { rotationSummary } from '../rotate/rotation-summary.ts';
import { rotateMany } from '../rotate/run.ts';
import type { SecretSource } from '../secrets/source.ts';
import { writeFileAtomic } from '../util/files.ts';

/** What to rotate, as the rotate action (one matrix entry) and `ottr rotate` (--device, --shard) ask for it. */
export interface RotateJobInput {
  root: string;
  /** The system names to rotate, in order. */
  devices: readonly string[];
  /**
   * The matrix entry this runs for (the action): an entry runs in one data center's environment, so a device of
   * another data center is refused. Absent (`ottr rotate`): the operator chose the devices and where to run.
   */
  entry?: { id: string; dataCenter: string };
  /** Where `<system_name>.json` is written as each device finishes (an absolute path). */
  resultsDir: string;
  /** The process environment, for the AWS SDK's endpoint settings only: secrets never come from here. */
  env: NodeJS.ProcessEnv;
  secrets: SecretSource;
  dryRun: boolean;
  staging: boolean;
  /** This workflow run, recorded in each result. */
  runUrl?: string;
}

/** What the rotate job tells its adapter while devices rotate. */
export interface RotatePort {
  /** The devices are known and valid: the first one is about to start. */
  starting(): void;
  /** A progress line of one device's phase. */
  progress(device: string, phase: string, message: string): void;
  /**
   * Opens a log group for one phase (a title), or closes the open one (undefined). Called only when one device
   * runs: the groups of parallel devices would interleave. Absent: no groups.
   */
  group?(title: string | undefined): void;
  /** A device finished and its result file is written; `outcome` is its status, with the error if any. */
  finished(result: RotationResult, outcome: string): void;
  /** Every secret value read and every token derived from one, to mask. */
  secret(value: string): void;
}

export type RotateJobResult =
  /** routing/settings.yaml or routing/routes.yaml is unusable: nothing ran. */
  | { status: 'invalid-repository'; message: string }
  /** Devices the inventory does not have (`known` are the names it has, for suggestions): nothing ran. */
  | { status: 'unknown-devices'; unknown: string[]; known: string[] }
  /** Devices that are not valid devices of the entry's data center: nothing ran. */
  | { status: 'wrong-data-center'; message: string }
  | RotatedRun;

export interface RotatedRun {
  status: 'done';
  results: RotationResult[];
  rotated: number;
  /** Failed or rolled back. */
  failed: number;
  /** The job summary's markdown. */
  summary: string;
}

/**
 * Rotates the given devices, `limits.shard_concurrency` at a time; one device's failure never stops the others.
 * Each device's result file is written as soon as it finishes.
 */
export async function rotateJob(input: RotateJobInput, port: RotatePort): Promise<RotateJobResult> {
  const repository = await loadRepository(input.root);
  if (!repository.settings || !repository.routes)
    return {
      status: 'invalid-repository',
      message: 'routing/settings.yaml or routing/routes.yaml is invalid (ottr validate shows why)',
    };
  const byName = new Map(repository.records.map((r) => [r.system_name, r]));
  const unknown = input.devices.filter((n) => !byName.has(n));
  if (unknown.length > 0) return { status: 'unknown-devices', unknown, known: [...byName.keys()] };
  const entry = input.entry;
  const strangers = entry
    ? input.devices.filter((n) => byName.get(n)!.device?.data_center !== entry.dataCenter)
    : [];
  if (entry && strangers.length > 0)
    return {
      status: 'wrong-data-center',
      message: `matrix entry ${entry.id} is for data center ${entry.dataCenter}, but ${strangers.join(', ')} ${strangers.length > 1 ? 'are' : 'is'} not a valid device of it`,
    };
  port.starting();
  const grouped = input.devices.length === 1 && port.group !== undefined;
  const results = await rotateMany(
    repository,
    input.devices.map((n) => byName.get(n)!),
    repository.settings.limits?.shard_concurrency ?? 4,
    {
      env: input.env,
      secrets: input.secrets,
      ...(input.dryRun ? { dryRun: true } : {}),
      ...(input.staging ? { staging: true } : {}),
      ...(input.runUrl ? { runUrl: input.runUrl } : {}),
      onSecret: (value) => port.secret(value),
      log: (device, phase, message) => {
        if (grouped && message === 'started') port.group!(`${device}: ${phase}`);
        port.progress(device, phase, message);
      },
    },
    (result) => {
      if (grouped) port.group!(undefined);
      writeFileAtomic(
        join(input.resultsDir, `${result.system_name}.json`),
        `${JSON.stringify(result, null, 2)}\n`,
      );
      port.finished(result, describeOutcome(result));
    },
  );
  return {
    status: 'done',
    results,
    rotated: results.filter((r) => r.status === 'rotated').length,
    failed: results.filter(isFailure).length,
    summary: rotationSummary(results),
  };
}

/** `rotated`, or the status with the failing phase, its error class and message. */
function describeOutcome(result: RotationResult): string {
  return result.error
    ? `${result.status}: ${result.error.phase} ${result.error.class}: ${result.error.message}`
    : result.status;
}

/** The workflow run's page, from the runner's variables; undefined outside a workflow. */
export function workflowRunUrl(env: {
  GITHUB_SERVER_URL?: string | undefined;
  GITHUB_REPOSITORY?: string | undefined;
  GITHUB_RUN_ID?: string | undefined;
}): string | undefined {
  return env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
    ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
    : undefined;
}
