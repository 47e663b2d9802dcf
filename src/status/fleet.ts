import type { Settings } from '../model/types.ts';
import { dueStatus, isoInstant } from '../plan/due.ts';
import type { DeviceRecord } from '../repository/device-file.ts';
import { DAY } from '../util/duration.ts';

/**
 * The state of one device in the fleet report, most urgent first. `due`, `expired` and `never_rotated` are
 * what the next scheduled run rotates; `expiring` is close to expiry but not due yet; `invalid` and
 * `no_route` cannot be rotated until their file or the routing rules are fixed.
 */
export const DEVICE_STATES = [
  'expired',
  'never_rotated',
  'due',
  'expiring',
  'ok',
  'invalid',
  'no_route',
] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

/** How people read a state: `never rotated`, `no route`. */
export function stateLabel(state: DeviceState): string {
  return state.replace('_', ' ');
}

/** States the next scheduled run rotates (`--due`). */
export function isDueState(state: DeviceState): boolean {
  return state === 'expired' || state === 'never_rotated' || state === 'due';
}

export const DEFAULT_EXPIRING_WITHIN_MS = 14 * DAY;

/** One device of the fleet report. Dates are ISO-8601 UTC; absent fields are unknown for that device. */
export interface FleetRow {
  system_name: string;
  /** The device file, relative to the repository root. */
  file: string;
  data_center: string;
  state: DeviceState;
  /** Why the device is in its state: the due computation's reason, the file's first error, or why no rule matched. */
  reason: string;
  /** Whether the next run rotates it (expired, never rotated or due). */
  due: boolean;
  /** The device's host_platform. */
  platform?: string;
  /** The platform driver the routing rule picks. */
  driver?: string;
  /** The routing rule's name. */
  route?: string;
  authority?: string;
  common_name?: string;
  subject_alternative_names?: string[];
  owner?: string;
  labels?: Record<string, string>;
  not_before?: string;
  not_after?: string;
  /** Days until not_after, one decimal; negative once expired. */
  days_left?: number;
  /** When the device becomes (or became) due: the ARI window start or the renew_before point. */
  renewal_start?: string;
  /** The last rotation recorded (certificate.rotated_at). */
  rotated_at?: string;
}

export type StateCounts = Record<DeviceState, number>;

export interface StatusFilters {
  /** Only this data center. */
  dataCenter?: string;
  /** Only devices whose host_platform or platform driver is this. */
  platform?: string;
  /** Only devices the next run rotates: due, expired, never rotated. */
  dueOnly?: boolean;
  /**
   * Only devices whose certificate expires within this many ms (expired ones included). Also the window of the
   * `expiring` state; default 14 days.
   */
  expiringWithinMs?: number;
  /** Case-insensitive text in system_name, common_name, a SAN, owner or a label value. */
  search?: string;
}

export interface FleetStatus {
  /** The instant the report is computed for (ISO). */
  generated_at: string;
  /** The `expiring` window in ms. */
  expiring_within_ms: number;
  /** The rows the filters keep, most urgent first. */
  rows: FleetRow[];
  /** Counts of `rows` by state. */
  counts: StateCounts;
  /** Devices in the inventory before filtering. */
  total: number;
}

export function emptyCounts(): StateCounts {
  return { expired: 0, never_rotated: 0, due: 0, expiring: 0, ok: 0, invalid: 0, no_route: 0 };
}

export function countStates(rows: readonly FleetRow[]): StateCounts {
  const counts = emptyCounts();
  for (const row of rows) counts[row.state]++;
  return counts;
}

/** `inventory/<data_center>/<name>.yaml` → data_center, for records whose document could not be read. */
function dataCenterOfFile(file: string): string {
  const parts = file.split('/');
  return parts.length >= 3 ? parts[parts.length - 2]! : '';
}

function normalisedInstant(text: string | undefined): { iso?: string; ms: number } {
  if (text === undefined) return { ms: Number.NaN };
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? { iso: isoInstant(ms), ms } : { iso: text, ms };
}

/** A row plus the key it is sorted by: expiry (or due urgency); rows without one go last. */
interface Ranked {
  row: FleetRow;
  key: number;
}

function rankRecord(
  record: DeviceRecord,
  settings: Settings | undefined,
  now: Date,
  windowMs: number,
): Ranked {
  const device = record.device;
  if (!device) {
    const noRoute = record.no_route !== undefined;
    const row: FleetRow = {
      system_name: record.system_name,
      file: record.file,
      data_center: dataCenterOfFile(record.file),
      state: noRoute ? 'no_route' : 'invalid',
      reason: (noRoute ? record.no_route : record.first_error) ?? 'invalid device file',
      due: false,
    };
    return { row, key: Number.POSITIVE_INFINITY };
  }

  const nowMs = now.getTime();
  const authority = settings?.authorities[device.certificate_authority];
  const status = dueStatus(device, authority, now, false);
  const cert = device.certificate;
  const notAfter = normalisedInstant(cert?.not_after);
  const row: FleetRow = {
    system_name: device.system_name,
    file: record.file,
    data_center: device.data_center,
    state: 'ok',
    reason: status.reason,
    due: status.due,
    platform: device.host_platform,
    authority: device.certificate_authority,
    common_name: device.common_name,
  };
  if (record.route) {
    row.driver = record.route.platform;
    row.route = record.route.name;
  }
  if (device.subject_alternative_names) row.subject_alternative_names = device.subject_alternative_names;
  if (device.owner !== undefined) row.owner = device.owner;
  if (device.labels) row.labels = device.labels;
  const notBefore = normalisedInstant(cert?.not_before);
  if (notBefore.iso !== undefined) row.not_before = notBefore.iso;
  if (notAfter.iso !== undefined) row.not_after = notAfter.iso;
  if (Number.isFinite(notAfter.ms)) row.days_left = Math.round(((notAfter.ms - nowMs) / DAY) * 10) / 10;
  if (status.renew_at !== undefined) row.renewal_start = status.renew_at;
  const rotatedAt = normalisedInstant(cert?.rotated_at);
  if (rotatedAt.iso !== undefined) row.rotated_at = rotatedAt.iso;

  if (!record.route) {
    // routes.yaml is broken, so no rule was matched against this device: it cannot be rotated either.
    row.state = 'no_route';
    row.reason = 'routing rules not checked (routing/routes.yaml has errors)';
    row.due = false;
  } else if (!cert) row.state = 'never_rotated';
  else if (Number.isFinite(notAfter.ms) && nowMs >= notAfter.ms) row.state = 'expired';
  else if (status.due) row.state = 'due';
  else if (Number.isFinite(notAfter.ms) && notAfter.ms - nowMs <= windowMs) row.state = 'expiring';

  const key = status.due ? status.urgency : Number.isFinite(notAfter.ms) ? notAfter.ms : Number.MAX_VALUE;
  return { row, key };
}

function searchText(row: FleetRow): string {
  const parts = [row.system_name, row.common_name ?? '', row.owner ?? ''];
  if (row.subject_alternative_names) parts.push(...row.subject_alternative_names);
  if (row.labels) parts.push(...Object.values(row.labels));
  return parts.join('\n').toLowerCase();
}

function keep(row: FleetRow, filters: StatusFilters, nowMs: number, search: string | undefined): boolean {
  if (filters.dataCenter !== undefined && row.data_center !== filters.dataCenter) return false;
  if (filters.platform !== undefined) {
    const wanted = filters.platform.toLowerCase();
    if (row.platform?.toLowerCase() !== wanted && row.driver?.toLowerCase() !== wanted) return false;
  }
  if (filters.dueOnly && !isDueState(row.state)) return false;
  if (filters.expiringWithinMs !== undefined) {
    const notAfter = row.not_after === undefined ? Number.NaN : Date.parse(row.not_after);
    if (!Number.isFinite(notAfter) || notAfter - nowMs > filters.expiringWithinMs) return false;
  }
  if (search !== undefined && !searchText(row).includes(search)) return false;
  return true;
}

/**
 * The fleet report: one row per inventory record (invalid ones too), kept by every filter given (AND), most
 * urgent first — expired, then by time left, never-rotated devices right after the expired ones, devices
 * without a usable expiry last. One pass over the records; no I/O.
 */
export function fleetStatus(
  records: readonly DeviceRecord[],
  settings: Settings | undefined,
  now: Date,
  filters: StatusFilters = {},
): FleetStatus {
  const windowMs = filters.expiringWithinMs ?? DEFAULT_EXPIRING_WITHIN_MS;
  const nowMs = now.getTime();
  const search = filters.search?.trim().toLowerCase() || undefined;
  const ranked: Ranked[] = [];
  for (const record of records) {
    const entry = rankRecord(record, settings, now, windowMs);
    if (keep(entry.row, filters, nowMs, search)) ranked.push(entry);
  }
  ranked.sort(
    (a, b) =>
      a.key - b.key ||
      (a.row.system_name < b.row.system_name ? -1 : a.row.system_name > b.row.system_name ? 1 : 0),
  );
  const rows = ranked.map((r) => r.row);
  return {
    generated_at: isoInstant(nowMs),
    expiring_within_ms: windowMs,
    rows,
    counts: countStates(rows),
    total: records.length,
  };
}

/** The values `--data-center` and `--platform` may take for this inventory (to reject typos). */
export function filterVocabulary(records: readonly DeviceRecord[]): {
  dataCenters: Set<string>;
  platforms: Set<string>;
} {
  const dataCenters = new Set<string>();
  const platforms = new Set<string>();
  for (const record of records) {
    dataCenters.add(record.device?.data_center ?? dataCenterOfFile(record.file));
    if (record.device) platforms.add(record.device.host_platform);
    if (record.route) platforms.add(record.route.platform);
  }
  return { dataCenters, platforms };
}
