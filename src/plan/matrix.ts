import type { Settings } from '../model/types.ts';
import { environmentFor, JOB_SECRET_SLOTS } from '../secrets/job-secrets.ts';

/** GitHub runs at most 256 jobs per matrix. */
export const GITHUB_MAX_JOBS = 256;
/** GitHub job outputs are limited to 1 MB; the matrix JSON travels as one job output. */
export const MATRIX_OUTPUT_LIMIT_BYTES = 1_000_000;
/** The file, uploaded with the plan, that holds the shards when the matrix would be too large to inline them. */
export const PLAN_FILE = 'plan.json';

export interface MatrixDevice {
  system_name: string;
  data_center: string;
  /** The secret names its rotation reads (deviceSecrets). */
  secrets: string[];
}

/**
 * One matrix job. Either `devices` lists the devices inline, or (when inlining would push the matrix JSON past
 * GitHub's 1 MB job-output limit) `devices_file` names the plan file and `shard` is the index into its `shards`.
 */
export interface MatrixEntry {
  id: string;
  devices?: string[];
  devices_file?: string;
  shard?: number;
  /** The data center of every device in the entry (an entry never spans two). */
  data_center: string;
  runs_on: string[];
  /** The GitHub environment the job runs in: pki-<data_center>. */
  environment: string;
  /** The secret names the job is given (at most JOB_SECRET_SLOTS), in slot order: OTTR_SECRET_1 is secrets[0]. */
  secrets: string[];
}

export interface Shard {
  id: string;
  devices: string[];
  data_center: string;
  runs_on: string[];
  environment: string;
  secrets: string[];
}

export interface MatrixResult {
  include: MatrixEntry[];
  /** Present when devices were sharded (more due devices than max_jobs); `shard` indexes into it. */
  shards?: Shard[];
  errors: string[];
}

export function maxJobs(settings: Settings): number {
  const configured = settings.limits?.max_jobs;
  if (configured === undefined || !Number.isInteger(configured) || configured < 1) return GITHUB_MAX_JOBS;
  return Math.min(configured, GITHUB_MAX_JOBS);
}

/** The runners of a data center; undefined when settings do not declare it (there is no fallback). */
export function runsOn(settings: Settings, dataCenter: string): string[] | undefined {
  const byDc = settings.runners.by_data_center;
  return byDc && Object.hasOwn(byDc, dataCenter) ? byDc[dataCenter] : undefined;
}

interface Group {
  data_center: string;
  runs_on: string[];
  secrets: string[];
  devices: MatrixDevice[];
}

/**
 * Builds the job matrix for due devices given in urgency order (most urgent first).
 * - Up to max_jobs devices: one job per device, id = system_name.
 * - More: devices are grouped by runner label set, each group gets at least one shard and the remaining shards in
 *   proportion to its size (largest remainder), and each group's devices are dealt round-robin in urgency order,
 *   so shards differ in size by at most one and each holds a mix of urgencies. Ids `shard-001`….
 * - If the inline matrix JSON would reach GitHub's 1 MB job-output limit, the shard entries carry
 *   `devices_file: "plan.json"` + `shard` (index into `shards`) instead of `devices`; the rotate job then reads its
 *   device list from the plan file (uploaded as an artifact by the plan job). `shards` is always present when
 *   sharding happened, so a consumer can rely on it in both cases.
 */
export function buildMatrix(due: readonly MatrixDevice[], settings: Settings): MatrixResult {
  const limit = maxJobs(settings);
  const errors: string[] = [];
  const runnable = due.filter((d) => {
    const problem =
      runsOn(settings, d.data_center) === undefined
        ? `data center ${d.data_center} has no runners.by_data_center entry`
        : d.secrets.length > JOB_SECRET_SLOTS
          ? `it needs ${d.secrets.length} secrets, more than the ${JOB_SECRET_SLOTS} a job is given`
          : undefined;
    if (problem) errors.push(`${d.system_name} is not scheduled: ${problem}`);
    return problem === undefined;
  });
  if (runnable.length <= limit) {
    return {
      include: runnable.map((d) => ({
        id: d.system_name,
        devices: [d.system_name],
        data_center: d.data_center,
        runs_on: runsOn(settings, d.data_center)!,
        environment: environmentFor(d.data_center),
        secrets: d.secrets,
      })),
      errors,
    };
  }

  // One group per data center and secret set (a job runs in one data center's environment and is given only its
  // devices' secrets), in order of each group's most urgent device.
  const groups = new Map<string, Group>();
  for (const d of runnable) {
    const key = `${d.data_center}\n${d.secrets.join('\n')}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        data_center: d.data_center,
        runs_on: runsOn(settings, d.data_center)!,
        secrets: d.secrets,
        devices: [],
      };
      groups.set(key, group);
    }
    group.devices.push(d);
  }
  const list = [...groups.values()];
  if (list.length > limit) {
    return {
      include: [],
      errors: [
        ...errors,
        `${list.length} different data center and secret sets among the due devices but max_jobs is ${limit}: ` +
          'raise limits.max_jobs (at most 256) or let devices of a data center share credentials',
      ],
    };
  }

  const allocation = allocateShards(
    list.map((g) => g.devices.length),
    limit,
  );
  const shards: Shard[] = [];
  for (let g = 0; g < list.length; g++) {
    const group = list[g]!;
    const count = allocation[g]!;
    const buckets: MatrixDevice[][] = Array.from({ length: count }, () => []);
    for (let i = 0; i < group.devices.length; i++) buckets[i % count]!.push(group.devices[i]!);
    for (const bucket of buckets) {
      shards.push({
        id: `shard-${String(shards.length + 1).padStart(3, '0')}`,
        devices: bucket.map((d) => d.system_name),
        data_center: group.data_center,
        runs_on: group.runs_on,
        environment: environmentFor(group.data_center),
        secrets: group.secrets,
      });
    }
  }

  const inline: MatrixEntry[] = shards.map((s) => ({
    id: s.id,
    devices: s.devices,
    data_center: s.data_center,
    runs_on: s.runs_on,
    environment: s.environment,
    secrets: s.secrets,
  }));
  if (matrixBytes(inline) < MATRIX_OUTPUT_LIMIT_BYTES) return { include: inline, shards, errors };
  return {
    include: shards.map((s, index) => ({
      id: s.id,
      devices_file: PLAN_FILE,
      shard: index,
      data_center: s.data_center,
      runs_on: s.runs_on,
      environment: s.environment,
      secrets: s.secrets,
    })),
    shards,
    errors,
  };
}

/** Bytes of `{"include":[…]}` as serialised into the job output. */
export function matrixBytes(include: readonly MatrixEntry[]): number {
  return Buffer.byteLength(JSON.stringify({ include }), 'utf8');
}

/**
 * Splits `total` shards among groups of the given sizes, proportionally by largest remainder: each group gets
 * floor(quota) (quota = total·size/devices) but at least one and at most its size; the shards still free go to the
 * groups furthest below their quota, and when the minimum of one pushed the sum over `total`, shards are taken from
 * the groups furthest above theirs. Requires groups ≤ total.
 */
export function allocateShards(sizes: readonly number[], total: number): number[] {
  const devices = sizes.reduce((a, b) => a + b, 0);
  if (devices <= total) return sizes.map((s) => Math.max(1, s));
  const quotas = sizes.map((s) => (total * s) / devices);
  const allocation = quotas.map((q, i) => Math.min(sizes[i]!, Math.max(1, Math.floor(q))));
  let sum = allocation.reduce((a, b) => a + b, 0);
  while (sum !== total) {
    const grow = sum < total;
    let pick = -1;
    let best = 0;
    for (let i = 0; i < allocation.length; i++) {
      const a = allocation[i]!;
      if (grow ? a >= sizes[i]! : a <= 1) continue;
      const gap = quotas[i]! - a; // > 0: below quota
      if (pick < 0 || (grow ? gap > best : gap < best)) {
        pick = i;
        best = gap;
      }
    }
    if (pick < 0) break; // cannot happen when groups ≤ total < devices
    allocation[pick] = allocation[pick]! + (grow ? 1 : -1);
    sum += grow ? 1 : -1;
  }
  return allocation;
}
