import type { Device } from '../model/types.ts';
import { DAY } from '../util/duration.ts';
import type { Plan, Skipped } from './build-plan.ts';

export interface SummaryOptions {
  /** Heading of the summary; default "Ottr plan". */
  title?: string;
  /** Rows per table before "… and N more"; default 500. */
  maxRows?: number;
  /** Tables longer than this are collapsed into `<details>`; default 20. */
  collapseAbove?: number;
  /** Devices in the expiry chart (soonest first); default 40, 0 = no chart. */
  ganttDevices?: number;
}

interface Tally {
  notDue: number;
  invalid: number;
  noRoute: number;
}

function tally(skipped: readonly Skipped[]): Tally {
  const t: Tally = { notDue: 0, invalid: 0, noRoute: 0 };
  for (const s of skipped) {
    if (s.kind === 'not_due') t.notDue++;
    else if (s.kind === 'invalid') t.invalid++;
    else t.noRoute++;
  }
  return t;
}

function countsLine(plan: Plan, t: Tally): string {
  const c = plan.counts;
  const parts = [
    `${c.due} due`,
    `${c.deferred} deferred`,
    `${t.notDue} not due`,
    `${t.invalid} invalid`,
    `${t.noRoute} without route`,
  ];
  if (c.not_selected > 0) parts.push(`${c.not_selected} not selected`);
  const environments = new Map<string, number>();
  for (const entry of plan.matrix.include)
    if (entry.environment)
      environments.set(entry.environment, (environments.get(entry.environment) ?? 0) + 1);
  const where =
    environments.size > 0
      ? ` (${[...environments]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([env, n]) => `${env}: ${n}`)
          .join(', ')})`
      : '';
  return `${parts.join(', ')} (of ${c.devices} devices); ${c.jobs} job${c.jobs === 1 ? '' : 's'}${where}, at most ${plan.max_parallel} in parallel`;
}

const MD_SPECIAL = /[\\|*_`[\]<>&#~]/g;
const MD_REPLACEMENTS: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;' };

/** Text made safe for one GitHub-flavoured Markdown table cell. */
export function markdownCell(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(MD_SPECIAL, (ch) => MD_REPLACEMENTS[ch] ?? `\\${ch}`);
}

/** A string made safe as a Mermaid gantt task or section name: no `:`, `#`, `;` or other syntax characters. */
export function mermaidName(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9._ -]/g, '_').trim() || '_';
  // Keywords the gantt lexer recognises at the start of a line (case-insensitively).
  return /^(acc|title|section|dateformat|axisformat|tickinterval|includes|excludes|todaymarker|weekday|weekend|inclusiveenddates|topaxis|click|gantt)/i.test(
    safe,
  )
    ? `_${safe}`
    : safe;
}

function table(headers: string[], rows: string[][], maxRows: number): string[] {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  const shown = Math.min(rows.length, maxRows);
  for (let i = 0; i < shown; i++) lines.push(`| ${rows[i]!.join(' | ')} |`);
  if (rows.length > shown) lines.push('', `… and ${rows.length - shown} more`);
  return lines;
}

function section(
  heading: string,
  summary: string,
  tableLines: string[],
  rowCount: number,
  collapseAbove: number,
): string[] {
  const lines = [`### ${heading}`, ''];
  if (rowCount > collapseAbove) {
    lines.push('<details>', `<summary>${summary}</summary>`, '', ...tableLines, '', '</details>');
  } else {
    lines.push(...tableLines);
  }
  lines.push('');
  return lines;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The GitHub job summary (Markdown) of a plan. `devices` are the inventory's devices, for the expiry chart. */
export function planSummaryMarkdown(
  plan: Plan,
  devices: readonly Device[],
  options: SummaryOptions = {},
): string {
  const maxRows = options.maxRows ?? 500;
  const collapseAbove = options.collapseAbove ?? 20;
  const ganttDevices = options.ganttDevices ?? 40;
  const t = tally(plan.skipped);
  const lines: string[] = [`## ${options.title ?? 'Ottr plan'}`, ''];
  lines.push(`**${countsLine(plan, t)}** — as of ${plan.now}`, '');

  if (plan.errors.length > 0) {
    lines.push('> [!CAUTION]', `> ${plan.errors.length} error${plan.errors.length === 1 ? '' : 's'}:`);
    for (const e of plan.errors) lines.push(`> - ${markdownCell(e)}`);
    lines.push('');
  }

  if (plan.due.length > 0) {
    const rows = plan.due.map((d) => [
      `\`${d.system_name}\``,
      markdownCell(d.data_center),
      markdownCell(d.platform),
      markdownCell(d.route),
      d.not_after === undefined ? '—' : markdownCell(d.not_after),
      markdownCell(d.reason),
    ]);
    const tableLines = table(
      ['Device', 'Data center', 'Platform', 'Route', 'Expires', 'Reason'],
      rows,
      maxRows,
    );
    lines.push(
      ...section(
        `Due (${plan.due.length})`,
        `${plan.due.length} due devices`,
        tableLines,
        rows.length,
        collapseAbove,
      ),
    );
  } else {
    lines.push('No device is due.', '');
  }

  if (plan.deferred.length > 0) {
    const rows = plan.deferred.map((d) => [`\`${d.system_name}\``, markdownCell(d.reason)]);
    lines.push(
      ...section(
        `Deferred by rate limits (${plan.deferred.length})`,
        `${plan.deferred.length} deferred devices`,
        table(['Device', 'Reason'], rows, maxRows),
        rows.length,
        collapseAbove,
      ),
    );
  }

  const problems = plan.skipped.filter((s) => s.kind !== 'not_due');
  if (problems.length > 0) {
    const rows = problems.map((s) => [
      `\`${s.system_name}\``,
      s.kind === 'invalid' ? 'invalid' : 'no route',
      markdownCell(s.file),
      markdownCell(s.reason),
    ]);
    lines.push(
      ...section(
        `Skipped: invalid or without route (${problems.length})`,
        `${problems.length} skipped devices`,
        table(['Device', 'Problem', 'File', 'Reason'], rows, maxRows),
        rows.length,
        collapseAbove,
      ),
    );
  }

  const gantt = ganttChart(plan, devices, ganttDevices);
  if (gantt.length > 0) lines.push('### Upcoming expiries', '', ...gantt, '');
  return `${lines.join('\n').trimEnd()}\n`;
}

/** A Mermaid gantt of the soonest-expiring devices with a recorded certificate; [] when there are none. */
function ganttChart(plan: Plan, devices: readonly Device[], limit: number): string[] {
  if (limit <= 0) return [];
  const chosen: { device: Device; notAfter: number }[] = [];
  for (const device of devices) {
    const text = device.certificate?.not_after;
    if (text === undefined) continue;
    const notAfter = Date.parse(text);
    if (Number.isFinite(notAfter)) chosen.push({ device, notAfter });
  }
  if (chosen.length === 0) return [];
  chosen.sort(
    (a, b) =>
      a.notAfter - b.notAfter ||
      (a.device.system_name < b.device.system_name
        ? -1
        : a.device.system_name > b.device.system_name
          ? 1
          : 0),
  );
  chosen.length = Math.min(chosen.length, limit);

  const renewAt = new Map<string, string>();
  const due = new Set<string>();
  for (const d of plan.due) {
    due.add(d.system_name);
    if (d.renew_at !== undefined) renewAt.set(d.system_name, d.renew_at);
  }
  for (const s of plan.skipped) if (s.renew_at !== undefined) renewAt.set(s.system_name, s.renew_at);

  return expiryGantt(
    chosen.map(({ device, notAfter }) => {
      const startText = renewAt.get(device.system_name) ?? device.certificate?.not_before;
      return {
        section: device.data_center,
        name: device.system_name,
        start: startText === undefined ? Number.NaN : Date.parse(startText),
        notAfter,
        tag: due.has(device.system_name) ? 'crit' : '',
      };
    }),
  );
}

/** One bar of an expiry gantt: from `start` (renewal start or not_before; NaN = unknown) to `notAfter`. */
export interface GanttBar {
  section: string;
  name: string;
  start: number;
  notAfter: number;
  tag: '' | 'crit' | 'active';
}

/**
 * A Mermaid gantt of bars already chosen and ordered, one section per data center in the order they first
 * appear; a bar whose start is unknown is one day long.
 */
export function expiryGantt(bars: readonly GanttBar[]): string[] {
  const sections = new Map<string, string[]>();
  for (const bar of bars) {
    const start = Number.isFinite(bar.start) ? bar.start : bar.notAfter - DAY;
    const from = day(Math.min(start, bar.notAfter));
    const to = day(bar.notAfter);
    const span = from < to ? `${from}, ${to}` : `${to}, 1d`;
    let tasks = sections.get(bar.section);
    if (!tasks) {
      tasks = [];
      sections.set(bar.section, tasks);
    }
    tasks.push(`    ${mermaidName(bar.name)}:${bar.tag ? `${bar.tag}, ` : ''}${span}`);
  }
  const lines = [
    '```mermaid',
    'gantt',
    `    title Certificate expiries (soonest ${bars.length})`,
    '    dateFormat YYYY-MM-DD',
    '    axisFormat %Y-%m-%d',
  ];
  for (const [dc, tasks] of sections) lines.push(`    section ${mermaidName(dc)}`, ...tasks);
  lines.push('```');
  return lines;
}

export interface PlanTextOptions {
  /** Also list the devices that are not due. */
  verbose?: boolean;
}

function aligned(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (let i = 0; i < row.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, row[i]!.length);
  }
  return rows.map(
    (row) => indent + row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  '),
  );
}

/** The human text output of `ottr plan`. */
export function planText(plan: Plan, options: PlanTextOptions = {}): string {
  const t = tally(plan.skipped);
  const lines: string[] = [`Plan at ${plan.now}`, ''];
  if (plan.due.length > 0) {
    lines.push(`Due (${plan.due.length}):`);
    lines.push(
      ...aligned([
        ['DEVICE', 'DATA CENTER', 'PLATFORM', 'ROUTE', 'EXPIRES', 'REASON'],
        ...plan.due.map((d) => [
          d.system_name,
          d.data_center,
          d.platform,
          d.route,
          d.not_after ?? '-',
          d.reason,
        ]),
      ]),
    );
  } else {
    lines.push('No device is due.');
  }
  lines.push('');
  if (plan.deferred.length > 0) {
    lines.push(`Deferred by rate limits (${plan.deferred.length}):`);
    lines.push(...aligned([['DEVICE', 'REASON'], ...plan.deferred.map((d) => [d.system_name, d.reason])]));
    lines.push('');
  }
  const problems = plan.skipped.filter((s) => s.kind !== 'not_due');
  if (problems.length > 0) {
    lines.push(`Skipped, invalid or without route (${problems.length}):`);
    lines.push(
      ...aligned([
        ['DEVICE', 'PROBLEM', 'FILE', 'REASON'],
        ...problems.map((s) => [
          s.system_name,
          s.kind === 'invalid' ? 'invalid' : 'no route',
          s.file,
          s.reason,
        ]),
      ]),
    );
    lines.push('');
  }
  if (options.verbose && t.notDue > 0) {
    lines.push(`Not due (${t.notDue}):`);
    lines.push(
      ...aligned([
        ['DEVICE', 'RENEWS AT', 'REASON'],
        ...plan.skipped
          .filter((s) => s.kind === 'not_due')
          .map((s) => [s.system_name, s.renew_at ?? '-', s.reason]),
      ]),
    );
    lines.push('');
  }
  if (plan.errors.length > 0) {
    lines.push(`Errors (${plan.errors.length}):`);
    for (const e of plan.errors) lines.push(`  - ${e}`);
    lines.push('');
  }
  lines.push(countsLine(plan, t));
  return `${lines.join('\n')}\n`;
}
