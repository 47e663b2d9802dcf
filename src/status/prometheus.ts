import { DEVICE_STATES, type FleetRow, type FleetStatus } from './fleet.ts';

/**
 * The fleet report in the Prometheus text exposition format, for node_exporter's textfile collector
 * (write it with `--out DIR/ottr.prom`; the file is replaced atomically). Alert on, for example,
 * `ottr_certificate_expiry_timestamp_seconds - time() < 7 * 86400` or `ottr_certificate_due == 1`.
 */

interface Metric {
  name: string;
  help: string;
  /** The sample value of one device, or undefined when the device has none. */
  value: (row: FleetRow) => number | undefined;
}

function seconds(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

const DEVICE_METRICS: readonly Metric[] = [
  {
    name: 'ottr_certificate_expiry_timestamp_seconds',
    help: "The recorded certificate's not_after, in seconds since the Unix epoch.",
    value: (row) => seconds(row.not_after),
  },
  {
    name: 'ottr_certificate_renewal_window_start_timestamp_seconds',
    help: 'When the certificate becomes due for rotation (ARI window start or renew_before), in seconds since the Unix epoch.',
    value: (row) => seconds(row.renewal_start),
  },
  {
    name: 'ottr_certificate_last_rotation_timestamp_seconds',
    help: 'When the certificate was last rotated (certificate.rotated_at), in seconds since the Unix epoch.',
    value: (row) => seconds(row.rotated_at),
  },
  {
    name: 'ottr_certificate_due',
    help: '1 when the next scheduled run rotates the device (due, expired or never rotated), else 0.',
    value: (row) => (row.state === 'invalid' || row.state === 'no_route' ? undefined : row.due ? 1 : 0),
  },
];

/** A label value in the exposition format: backslash, double quote and line feed escaped. */
export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: readonly [string, string][]): string {
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

function deviceLabels(row: FleetRow): string {
  return labels([
    ['system_name', row.system_name],
    ['data_center', row.data_center],
    ['platform', row.platform ?? ''],
    ['authority', row.authority ?? ''],
    ['route', row.route ?? ''],
  ]);
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** `ottr status --format prometheus`: per-device gauges and the fleet's device count per state. */
export function statusPrometheus(status: FleetStatus): string {
  const lines: string[] = [];
  const deviceLabelText = status.rows.map(deviceLabels);
  for (const metric of DEVICE_METRICS) {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} gauge`);
    status.rows.forEach((row, i) => {
      const value = metric.value(row);
      if (value !== undefined) lines.push(`${metric.name}${deviceLabelText[i]} ${formatValue(value)}`);
    });
  }
  lines.push(
    '# HELP ottr_device_state 1 for the state each device is in (expired, never_rotated, due, expiring, ok, invalid, no_route).',
    '# TYPE ottr_device_state gauge',
  );
  status.rows.forEach((row, i) => {
    lines.push(`ottr_device_state${deviceLabelText[i]!.slice(0, -1)},state="${row.state}"} 1`);
  });
  lines.push(
    '# HELP ottr_devices Devices in the report by state.',
    '# TYPE ottr_devices gauge',
    ...DEVICE_STATES.map((state) => `ottr_devices${labels([['state', state]])} ${status.counts[state]}`),
  );
  return `${lines.join('\n')}\n`;
}
