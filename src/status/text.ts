import { formatDuration } from '../util/duration.ts';
import {
  DEVICE_STATES,
  type DeviceState,
  type FleetRow,
  type FleetStatus,
  type StateCounts,
  stateLabel,
} from './fleet.ts';

export interface StatusTextOptions {
  /** ANSI colours (a terminal that wants them): expired red, due and expiring yellow, broken files magenta. */
  colour?: boolean;
}

const MARKERS: Record<DeviceState, string> = {
  expired: '!',
  never_rotated: '~',
  due: '~',
  expiring: '~',
  ok: ' ',
  invalid: '?',
  no_route: '?',
};

const COLOURS: Partial<Record<DeviceState, string>> = {
  expired: '\u001b[31m',
  never_rotated: '\u001b[33m',
  due: '\u001b[33m',
  expiring: '\u001b[33m',
  invalid: '\u001b[35m',
  no_route: '\u001b[35m',
};
const RESET = '\u001b[0m';

/** What a person should know about a row that is not ok; a broken file names itself. */
export function noteOf(row: FleetRow): string {
  if (row.state === 'ok') return '';
  return row.state === 'invalid' || row.state === 'no_route' ? `${row.file}: ${row.reason}` : row.reason;
}

function date(iso: string | undefined): string {
  return iso === undefined ? '-' : iso.slice(0, 10);
}

/** `1 expired, 1 never rotated, 3 due, …` — every state, zeros included, so the line always reads the same. */
export function countsText(counts: StateCounts, expiringWithinMs: number): string {
  return DEVICE_STATES.map((state) => {
    if (state === 'expiring') return `${counts.expiring} expiring within ${formatDuration(expiringWithinMs)}`;
    if (state === 'no_route') return `${counts.no_route} without route`;
    return `${counts[state]} ${stateLabel(state)}`;
  }).join(', ');
}

/** The `ottr status` table: most urgent first, aligned columns, a marker (and colour) per urgent row, counts last. */
export function statusText(status: FleetStatus, options: StatusTextOptions = {}): string {
  const lines = [`Fleet status at ${status.generated_at}`, ''];
  if (status.rows.length === 0) {
    lines.push('No device matches the filters.');
  } else {
    const table = [
      [
        '',
        'DEVICE',
        'STATE',
        'DAYS LEFT',
        'EXPIRES',
        'RENEWS FROM',
        'LAST ROTATION',
        'DC',
        'PLATFORM',
        'ROUTE',
        'NOTE',
      ],
      ...status.rows.map((row) => [
        MARKERS[row.state],
        row.system_name,
        stateLabel(row.state),
        row.days_left === undefined ? '-' : row.days_left.toFixed(1),
        date(row.not_after),
        date(row.renewal_start),
        date(row.rotated_at),
        row.data_center || '-',
        row.platform ?? '-',
        row.route ?? '-',
        noteOf(row),
      ]),
    ];
    const widths: number[] = [];
    for (const cells of table) {
      for (let i = 0; i < cells.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, cells[i]!.length);
    }
    table.forEach((cells, index) => {
      const line = cells
        .map((cell, i) => {
          if (i === cells.length - 1) return cell;
          // Days left reads best right-aligned, like any column of numbers.
          return i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
        })
        .join('  ')
        .trimEnd();
      const colour = index > 0 && options.colour ? COLOURS[status.rows[index - 1]!.state] : undefined;
      lines.push(colour ? `${colour}${line}${RESET}` : line);
    });
  }
  lines.push('');
  const shown =
    status.rows.length === status.total
      ? `${status.total} device${status.total === 1 ? '' : 's'}`
      : `${status.rows.length} of ${status.total} devices shown`;
  lines.push(`${shown}: ${countsText(status.counts, status.expiring_within_ms)}`);
  if (status.rows.some((row) => row.state !== 'ok')) {
    lines.push('(! expired, ~ due, never rotated or expiring soon, ? invalid file or no routing rule)');
  }
  return `${lines.join('\n')}\n`;
}
