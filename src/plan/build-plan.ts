import type { Device, Settings } from '../model/types.ts';
import { deviceSecrets } from '../secrets/job-secrets.ts';
import { didYouMean } from '../util/suggest.ts';
import { createRunBudget } from './budget.ts';
import { dueStatus, isoInstant } from './due.ts';
import { buildMatrix, type MatrixEntry, type Shard } from './matrix.ts';

export interface PlanCandidate {
  device: Device;
  file: string;
  route: { name: string; platform: string };
}

export interface PlanExclusion {
  system_name: string;
  file: string;
  kind: 'invalid' | 'no_route';
  reason: string;
}

export interface PlanInput {
  candidates: PlanCandidate[];
  excluded: PlanExclusion[];
  settings: Settings;
  now: Date;
  force?: boolean;
  /** `--devices`: restrict the plan to these system names. Absent or empty = every device. */
  only?: string[];
}

export interface DueEntry {
  system_name: string;
  file: string;
  data_center: string;
  authority: string;
  route: string;
  platform: string;
  reason: string;
  not_after?: string;
  renew_at?: string;
}

export interface Deferred {
  system_name: string;
  file: string;
  reason: string;
}

export interface Skipped {
  system_name: string;
  file: string;
  kind: 'not_due' | 'no_route' | 'invalid';
  reason: string;
  renew_at?: string;
}

export interface PlanCounts {
  /** Every device in the inventory (valid or not). */
  devices: number;
  due: number;
  deferred: number;
  /** Selected devices not rotated in this run: not due, invalid or without a route. */
  skipped: number;
  /** Devices left out by `only` (`--devices`); not listed. */
  not_selected: number;
  jobs: number;
}

export interface Plan {
  version: 1;
  now: string;
  /** Devices to rotate in this run, most urgent first. */
  due: DueEntry[];
  /** Due devices held back by a rate-limit budget, most urgent first. */
  deferred: Deferred[];
  /** Sorted by system_name. */
  skipped: Skipped[];
  matrix: { include: MatrixEntry[] };
  max_parallel: number;
  counts: PlanCounts;
  /** Present when due devices were sharded; matrix entries with `devices_file` index into it by `shard`. */
  shards?: Shard[];
  errors: string[];
}

/** Jobs running at once when settings.limits.max_parallel is not set. */
export const DEFAULT_MAX_PARALLEL = 20;

interface DueCandidate {
  device: Device;
  candidate: PlanCandidate;
  reason: string;
  urgency: number;
  renew_at: string | undefined;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Decides who is due, applies rate-limit budgets and builds the job matrix. Pure: a function of its input. */
export function buildPlan(input: PlanInput): Plan {
  const { candidates, excluded, settings, now } = input;
  const force = input.force === true;
  const errors: string[] = [];

  let selected: Set<string> | undefined;
  if (input.only && input.only.length > 0) {
    selected = new Set(input.only);
    const known = new Set<string>();
    for (const c of candidates) known.add(c.device.system_name);
    for (const e of excluded) known.add(e.system_name);
    for (const name of selected) {
      if (!known.has(name)) errors.push(`device "${name}" is not in the inventory${didYouMean(name, known)}`);
    }
  }

  let notSelected = 0;
  const dueCandidates: DueCandidate[] = [];
  const skipped: Skipped[] = [];
  for (const candidate of candidates) {
    const device = candidate.device;
    if (selected && !selected.has(device.system_name)) {
      notSelected++;
      continue;
    }
    const authority = Object.hasOwn(settings.authorities, device.certificate_authority)
      ? settings.authorities[device.certificate_authority]
      : undefined;
    const status = dueStatus(device, authority, now, force);
    if (status.due) {
      dueCandidates.push({
        device,
        candidate,
        reason: status.reason,
        urgency: status.urgency,
        renew_at: status.renew_at,
      });
    } else {
      const entry: Skipped = {
        system_name: device.system_name,
        file: candidate.file,
        kind: 'not_due',
        reason: status.reason,
      };
      if (status.renew_at !== undefined) entry.renew_at = status.renew_at;
      skipped.push(entry);
    }
  }
  for (const e of excluded) {
    if (selected && !selected.has(e.system_name)) {
      notSelected++;
      continue;
    }
    skipped.push({ system_name: e.system_name, file: e.file, kind: e.kind, reason: e.reason });
  }

  dueCandidates.sort(
    (a, b) => a.urgency - b.urgency || compareNames(a.device.system_name, b.device.system_name),
  );

  const budget = createRunBudget(
    candidates.map((c) => c.device),
    settings,
    now,
  );
  const due: DueEntry[] = [];
  const deferred: Deferred[] = [];
  for (const d of dueCandidates) {
    const device = d.device;
    const held = budget.admit(device);
    if (held !== undefined) {
      deferred.push({ system_name: device.system_name, file: d.candidate.file, reason: held });
      continue;
    }
    const entry: DueEntry = {
      system_name: device.system_name,
      file: d.candidate.file,
      data_center: device.data_center,
      authority: device.certificate_authority,
      route: d.candidate.route.name,
      platform: d.candidate.route.platform,
      reason: d.reason,
    };
    if (device.certificate?.not_after !== undefined) entry.not_after = device.certificate.not_after;
    if (d.renew_at !== undefined) entry.renew_at = d.renew_at;
    due.push(entry);
  }

  skipped.sort((a, b) => compareNames(a.system_name, b.system_name));

  const secretsByDevice = new Map(
    dueCandidates.map((d) => [d.device.system_name, deviceSecrets(d.device, settings)]),
  );
  const matrix = buildMatrix(
    due.map((d) => ({
      system_name: d.system_name,
      data_center: d.data_center,
      secrets: secretsByDevice.get(d.system_name)!,
    })),
    settings,
  );
  errors.push(...matrix.errors);

  const configuredParallel = settings.limits?.max_parallel;
  const maxParallel =
    configuredParallel !== undefined && Number.isInteger(configuredParallel) && configuredParallel >= 1
      ? configuredParallel
      : DEFAULT_MAX_PARALLEL;

  const plan: Plan = {
    version: 1,
    now: isoInstant(now.getTime()),
    due,
    deferred,
    skipped,
    matrix: { include: matrix.include },
    max_parallel: maxParallel,
    counts: {
      devices: candidates.length + excluded.length,
      due: due.length,
      deferred: deferred.length,
      skipped: skipped.length,
      not_selected: notSelected,
      jobs: matrix.include.length,
    },
    ...(matrix.shards ? { shards: matrix.shards } : {}),
    errors,
  };
  return plan;
}
