import { expiryGantt, markdownCell } from '../plan/plan-summary.ts';
import { type FleetRow, type FleetStatus, isDueState, stateLabel } from './fleet.ts';
import { countsText, noteOf } from './text.ts';

export interface StatusMarkdownOptions {
  /** Heading; default "Ottr fleet status". */
  title?: string;
  /** Devices in the expiry gantt (soonest first); default 40, 0 = no chart. */
  ganttDevices?: number;
}

const STATE_MARK: Record<string, string> = {
  expired: '🔴 ',
  never_rotated: '🟠 ',
  due: '🟠 ',
  expiring: '🟡 ',
  invalid: '⚠️ ',
  no_route: '⚠️ ',
};

function dateCell(iso: string | undefined): string {
  return iso === undefined ? '—' : markdownCell(iso.slice(0, 10));
}

/** A Mermaid gantt of the soonest expiries, one section per data center, in the style of the plan summary. */
function gantt(rows: readonly FleetRow[], limit: number): string[] {
  if (limit <= 0) return [];
  const dated: { row: FleetRow; notAfter: number }[] = [];
  for (const row of rows) {
    const notAfter = row.not_after === undefined ? Number.NaN : Date.parse(row.not_after);
    if (Number.isFinite(notAfter)) dated.push({ row, notAfter });
  }
  if (dated.length === 0) return [];
  // Rows arrive most urgent first; the chart is about expiry dates, so order by those.
  dated.sort((a, b) => a.notAfter - b.notAfter);
  const chosen = dated.slice(0, limit);

  const lines = expiryGantt(
    chosen.map(({ row, notAfter }) => {
      const startText = row.renewal_start ?? row.not_before;
      return {
        section: row.data_center,
        name: row.system_name,
        start: startText === undefined ? Number.NaN : Date.parse(startText),
        notAfter,
        tag: isDueState(row.state) ? 'crit' : row.state === 'expiring' ? 'active' : '',
      };
    }),
  );
  if (dated.length > chosen.length) {
    lines.push('', `The chart shows the ${chosen.length} soonest of ${dated.length} recorded expiries.`);
  }
  return lines;
}

/** `ottr status --format markdown`: counts, the device table (most urgent first) and an expiry gantt. */
export function statusMarkdown(status: FleetStatus, options: StatusMarkdownOptions = {}): string {
  const lines = [`## ${options.title ?? 'Ottr fleet status'}`, ''];
  const shown =
    status.rows.length === status.total
      ? `${status.total} devices`
      : `${status.rows.length} of ${status.total} devices`;
  lines.push(
    `**${shown}: ${countsText(status.counts, status.expiring_within_ms)}** — as of ${status.generated_at}`,
  );
  lines.push('');
  if (status.rows.length === 0) {
    lines.push('No device matches the filters.');
    return `${lines.join('\n')}\n`;
  }
  const headers = [
    'Device',
    'State',
    'Days left',
    'Expires',
    'Renews from',
    'Last rotation',
    'Data center',
    'Platform',
    'Route',
    'Note',
  ];
  lines.push(`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`);
  for (const row of status.rows) {
    const cells = [
      markdownCell(row.system_name),
      `${STATE_MARK[row.state] ?? ''}${stateLabel(row.state)}`,
      row.days_left === undefined ? '—' : row.days_left.toFixed(1),
      dateCell(row.not_after),
      dateCell(row.renewal_start),
      dateCell(row.rotated_at),
      markdownCell(row.data_center),
      markdownCell(row.platform ?? '—'),
      markdownCell(row.route ?? '—'),
      markdownCell(noteOf(row)),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const chart = gantt(status.rows, options.ganttDevices ?? 40);
  if (chart.length > 0) lines.push('', '### Expiry timeline', '', ...chart);
  return `${lines.join('\n')}\n`;
}
