/**
 * The synchronizer's decisions, as pure functions of what a source reports and what the inventory holds:
 * which devices are new, which existing ones change (only in the fields the source owns), which the source
 * cannot describe (skipped, with the reason) and which it no longer lists (vanished: listed, never deleted).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Device } from '../model/types.ts';
import type { DraftDevice } from '../onboard/fields.ts';

/** The label that records which source a device came from (and so which source may report it vanished). */
export const SOURCE_LABEL = 'ottr/source';

/** One thing a source reports: an SSM managed instance, a row of an export. */
export interface Candidate {
  /** How to name it in reports: the instance id, `line 4 (web-01)`. */
  ref: string;
  /** The device fields the source gives; complete only when `missing` is empty. */
  fields: DraftDevice;
  /** Field paths the source owns: on an existing device, only these are updated. */
  owned: string[][];
  /** What identifies the device in the inventory, strongest first. */
  identity: { instance_id?: string; system_name?: string; common_name?: string };
  /** What the source lacks to describe a device, in the source's own terms (`tag ottr:data_center`). */
  missing: string[];
  /** Values that cannot be used as they are. */
  invalid: string[];
  /** The source still lists it but it cannot be managed (SSM ConnectionLost): why. */
  gone?: string;
}

export interface InventoryDevice {
  file: string;
  device: Device;
}

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface SyncPlan {
  created: { ref: string; device: Device }[];
  updated: { ref: string; file: string; device: Device; changes: FieldChange[]; paths: string[][] }[];
  unchanged: { ref: string; file: string }[];
  skipped: { ref: string; reason: string }[];
  vanished: { file: string; system_name: string; reason: string }[];
}

export interface PlanOptions {
  /** The source's name, written to labels.ottr/source of every device it creates or updates. */
  source: string;
  /** The inventory devices this source answers for: those it does not list (any more) are vanished. */
  claims: (device: Device) => boolean;
  /** Why a claimed device the source does not list is vanished (default: "no longer listed by <source>"). */
  vanishedReason?: (device: Device) => string;
}

export const dotted = (path: readonly string[]) => path.join('.');

export function getPath(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node[key] = next && typeof next === 'object' ? { ...(next as object) } : {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

/** Every owned path with a value, plus the source label. */
function ownedWithLabel(candidate: Candidate): string[][] {
  return [
    ...candidate.owned.filter((p) => getPath(candidate.fields, p) !== undefined),
    ['labels', SOURCE_LABEL],
  ];
}

function fieldsWithLabel(candidate: Candidate, source: string): DraftDevice {
  return { ...candidate.fields, labels: { ...candidate.fields.labels, [SOURCE_LABEL]: source } };
}

type Match = { found: InventoryDevice } | { conflict: string } | undefined;

function findExisting(candidate: Candidate, inventory: readonly InventoryDevice[]): Match {
  const { instance_id, system_name, common_name } = candidate.identity;
  if (instance_id) {
    const byInstance = inventory.find((d) => d.device.connection?.instance_id === instance_id);
    if (byInstance) return { found: byInstance };
  }
  if (system_name) {
    const byName = inventory.find((d) => d.device.system_name === system_name);
    if (byName) return { found: byName };
  }
  if (common_name) {
    const byCommonName = inventory.filter((d) => d.device.common_name === common_name);
    if (byCommonName.length > 1)
      return {
        conflict: `common_name ${common_name} is on ${byCommonName.length} devices (${byCommonName.map((d) => d.file).join(', ')}); tell them apart with an explicit system name`,
      };
    const [byCommonNameOnly] = byCommonName;
    if (byCommonNameOnly) {
      const other = byCommonNameOnly.device.connection?.instance_id;
      if (instance_id && other && other !== instance_id)
        return {
          conflict: `common_name ${common_name} belongs to ${byCommonNameOnly.file}, which names instance ${other}`,
        };
      return { found: byCommonNameOnly };
    }
  }
  return undefined;
}

/** Compares the source's view with the inventory. Pure: nothing is read or written. */
export function planSync(
  candidates: readonly Candidate[],
  inventory: readonly InventoryDevice[],
  options: PlanOptions,
): SyncPlan {
  const plan: SyncPlan = { created: [], updated: [], unchanged: [], skipped: [], vanished: [] };
  const listed = new Set<string>();
  const creating = new Set<string>();
  for (const candidate of candidates) {
    const match = findExisting(candidate, inventory);
    if (match && 'conflict' in match) {
      plan.skipped.push({ ref: candidate.ref, reason: match.conflict });
      continue;
    }
    if (candidate.gone) {
      if (match) {
        listed.add(match.found.file);
        plan.vanished.push({
          file: match.found.file,
          system_name: match.found.device.system_name,
          reason: `${candidate.ref} ${candidate.gone}`,
        });
      } else plan.skipped.push({ ref: candidate.ref, reason: candidate.gone });
      continue;
    }
    if (match) listed.add(match.found.file);
    if (candidate.invalid.length > 0) {
      plan.skipped.push({ ref: candidate.ref, reason: candidate.invalid.join('; ') });
      continue;
    }
    if (!match) {
      if (candidate.missing.length > 0) {
        plan.skipped.push({ ref: candidate.ref, reason: `missing ${candidate.missing.join(', ')}` });
        continue;
      }
      const device = fieldsWithLabel(candidate, options.source) as Device;
      if (creating.has(device.system_name)) {
        plan.skipped.push({
          ref: candidate.ref,
          reason: `system_name ${device.system_name} is proposed twice by this source; the first is kept`,
        });
        continue;
      }
      creating.add(device.system_name);
      plan.created.push({ ref: candidate.ref, device });
      continue;
    }
    const existing = match.found;
    const wanted = fieldsWithLabel(candidate, options.source);
    if (wanted.data_center !== undefined && wanted.data_center !== existing.device.data_center) {
      plan.skipped.push({
        ref: candidate.ref,
        reason: `${existing.file} is in data center ${existing.device.data_center} but the source says ${wanted.data_center}; move the file by hand (a sync never moves or deletes devices)`,
      });
      continue;
    }
    const changes: FieldChange[] = [];
    const paths: string[][] = [];
    const device = structuredClone(existing.device) as unknown as Record<string, unknown>;
    for (const path of ownedWithLabel(candidate)) {
      if (path[0] === 'data_center' || path[0] === 'system_name') continue;
      const from = getPath(existing.device, path);
      const to = getPath(wanted, path);
      if (isDeepStrictEqual(from, to)) continue;
      changes.push({ field: dotted(path), from, to });
      paths.push(path);
      setPath(device, path, to);
    }
    if (changes.length === 0) plan.unchanged.push({ ref: candidate.ref, file: existing.file });
    else
      plan.updated.push({
        ref: candidate.ref,
        file: existing.file,
        device: device as unknown as Device,
        changes,
        paths,
      });
  }
  for (const entry of inventory) {
    if (listed.has(entry.file) || !options.claims(entry.device)) continue;
    plan.vanished.push({
      file: entry.file,
      system_name: entry.device.system_name,
      reason: options.vanishedReason?.(entry.device) ?? `no longer listed by ${options.source}`,
    });
  }
  return plan;
}
