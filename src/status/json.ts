import { formatDuration } from '../util/duration.ts';
import type { FleetRow, FleetStatus, StateCounts } from './fleet.ts';

/** The `--format json` document; the dashboard embeds the same shape. */
export interface StatusDocument {
  generated_at: string;
  /** The `expiring` state's window, e.g. `14d`. */
  expiring_within?: string;
  /** Devices in the inventory before filters. */
  inventory_devices?: number;
  /** Counts of `devices` by state. */
  counts: StateCounts;
  devices: FleetRow[];
}

export function statusDocument(status: FleetStatus): StatusDocument {
  return {
    generated_at: status.generated_at,
    expiring_within: formatDuration(status.expiring_within_ms),
    inventory_devices: status.total,
    counts: status.counts,
    devices: status.rows,
  };
}

/** `ottr status --format json`: {generated_at, expiring_within, inventory_devices, counts, devices[]}. */
export function statusJson(status: FleetStatus): string {
  return `${JSON.stringify(statusDocument(status), null, 2)}\n`;
}
