import { isFailure, type RotationResult } from '../model/results.ts';
import { escapeTableCell, formatExpiry, markdownLink } from '../util/markdown-escape.ts';

/** GitHub rejects pull request and issue bodies longer than this many characters. */
export const GITHUB_BODY_LIMIT = 65_536;
/** Marks a pull request as Ottr's own, for people and tools reading it later. */
export const PULL_REQUEST_MARKER = '<!-- ottr-rotations -->';

const MAX_MESSAGE_CELL = 500;
const MAX_CARRIED_NAMES = 100;

export interface PullRequestText {
  title: string;
  body: string;
  /** True when some table rows were left out to stay under the body limit. */
  truncated: boolean;
}

export interface PullRequestTextOptions {
  runUrl?: string;
  /** Devices whose certificate updates come from earlier runs whose pull request was not merged yet. */
  carriedOver?: readonly string[];
  /** Upper bound on the body's length (default: GitHub's limit). */
  maxLength?: number;
}

function code(value: string): string {
  if (value.includes('`') || /[\r\n]/.test(value)) return escapeTableCell(value);
  return `\`${value.replace(/\|/g, '\\|')}\``;
}

function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

/** `AB:CD:EF:01:…:89` → `AB:CD:EF:01…78:89`: enough to recognise a certificate, short enough for a table. */
export function shortFingerprint(fingerprint: string): string {
  const bytes = fingerprint.split(':');
  if (bytes.length <= 6) return fingerprint;
  return `${bytes.slice(0, 4).join(':')}…${bytes.slice(-2).join(':')}`;
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  const rest = String(seconds % 60).padStart(2, '0');
  if (minutes < 60) return `${minutes}m ${rest}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

function totalMs(result: RotationResult): number {
  return result.phases.reduce((sum, phase) => sum + (Number.isFinite(phase.ms) ? phase.ms : 0), 0);
}

function deviceCell(result: RotationResult): string {
  return result.dry_run ? `${code(result.system_name)} (dry run)` : code(result.system_name);
}

function rollbackCell(result: RotationResult): string {
  if (!result.rollback) return result.status === 'rolled_back' ? 'rolled back' : '—';
  const outcome = result.rollback.restored ? 'restored' : '**NOT restored**';
  const message = result.rollback.message ? `: ${clip(result.rollback.message, MAX_MESSAGE_CELL)}` : '';
  return `${outcome}${escapeTableCell(message)}`;
}

interface Table {
  heading: string;
  intro?: string;
  header: string;
  rows: string[];
  /** Completes "…and N more ___". */
  noun: string;
}

function rotatedTable(results: RotationResult[]): Table {
  return {
    heading: `### Rotated (${results.length})`,
    header: '| Device | Expiry (old → new) | Serial | Issuer | SHA-256 | Took |\n|---|---|---|---|---|---|',
    noun: 'rotated devices',
    rows: results.map((r) => {
      const c = r.certificate!;
      const cells = [
        deviceCell(r),
        escapeTableCell(`${formatExpiry(r.previous?.not_after)} → ${formatExpiry(c.not_after)}`),
        code(c.serial),
        escapeTableCell(c.issuer),
        code(shortFingerprint(c.sha256_fingerprint)),
        formatDuration(totalMs(r)),
      ];
      return `| ${cells.join(' | ')} |`;
    }),
  };
}

function failureTable(results: RotationResult[], runUrl: string | undefined): Table {
  return {
    heading: `### Failures (${results.length})`,
    intro: 'These devices still serve their previous certificate unless the rollback column says otherwise.',
    header: '| Device | Phase | Error | Message | Rollback | Run |\n|---|---|---|---|---|---|',
    noun: 'failures',
    rows: results.map((r) => {
      const cells = [
        deviceCell(r),
        escapeTableCell(r.error?.phase ?? '—'),
        r.error?.class ? code(r.error.class) : '—',
        escapeTableCell(
          clip(r.error?.message ?? (r.status === 'rolled_back' ? 'rolled back' : '—'), MAX_MESSAGE_CELL),
        ),
        rollbackCell(r),
        markdownLink('run', r.run_url ?? runUrl) ?? '—',
      ];
      return `| ${cells.join(' | ')} |`;
    }),
  };
}

function skippedTable(results: RotationResult[]): Table {
  return {
    heading: `### Skipped (${results.length})`,
    header: '| Device | Reason |\n|---|---|',
    noun: 'skipped devices',
    rows: results.map((r) => {
      const reason = r.error?.message ?? r.warnings?.join('; ') ?? '—';
      return `| ${deviceCell(r)} | ${escapeTableCell(clip(reason, MAX_MESSAGE_CELL))} |`;
    }),
  };
}

function moreLine(count: number, noun: string): string {
  return `…and ${count} more ${noun} (see the run for all of them).`;
}

/**
 * The title and body of the pull request that records a run's rotations. Pure: the same results give the
 * same text. Rows that would take the body past `maxLength` are replaced by one "…and N more" line per table.
 */
export function renderPullRequest(
  results: readonly RotationResult[],
  options: PullRequestTextOptions = {},
): PullRequestText {
  const maxLength = Math.min(options.maxLength ?? GITHUB_BODY_LIMIT, GITHUB_BODY_LIMIT);
  const byName = (a: RotationResult, b: RotationResult) => a.system_name.localeCompare(b.system_name);
  const rotated = results.filter((r) => r.status === 'rotated' && r.certificate).sort(byName);
  const failed = results.filter(isFailure).sort(byName);
  const skipped = results.filter((r) => r.status === 'skipped').sort(byName);
  const carried = [...new Set(options.carriedOver ?? [])]
    .filter((name) => !rotated.some((r) => r.system_name === name))
    .sort();

  const recorded = rotated.length + carried.length;
  let title = `ottr: record ${recorded} rotated certificate${recorded === 1 ? '' : 's'}`;
  if (failed.length > 0) title += ` (${failed.length} failed)`;

  const run = markdownLink('this run', options.runUrl) ?? 'a run';
  const head: string[] = [
    PULL_REQUEST_MARKER,
    `Certificates rotated by ${run} of Ottr GitOps. The devices already serve them; merging this pull request ` +
      'records the new certificates in their inventory files so the next plan knows when they are due.',
  ];
  if (carried.length > 0) {
    const names = carried.slice(0, MAX_CARRIED_NAMES).map(code).join(', ');
    const more = carried.length > MAX_CARRIED_NAMES ? ` and ${carried.length - MAX_CARRIED_NAMES} more` : '';
    head.push(
      `Also carries the certificate updates of earlier runs that are not merged yet, for: ${names}${more}.`,
    );
  }
  const tables: Table[] = [];
  if (rotated.length > 0) tables.push(rotatedTable(rotated));
  if (failed.length > 0) tables.push(failureTable(failed, options.runUrl));
  if (skipped.length > 0) tables.push(skippedTable(skipped));
  const foot = ['<sub>Written by Ottr GitOps. The branch is rebuilt on every run; do not push to it.</sub>'];

  const render = (kept: number[]) => {
    const blocks = [...head];
    tables.forEach((table, i) => {
      const lines = [table.heading];
      if (table.intro) lines.push(table.intro);
      lines.push(table.header, ...table.rows.slice(0, kept[i]));
      const left = table.rows.length - kept[i]!;
      if (left > 0) lines.push('', moreLine(left, table.noun));
      blocks.push(lines.join('\n'));
    });
    blocks.push(...foot);
    return `${blocks.join('\n\n')}\n`;
  };

  const full = render(tables.map((t) => t.rows.length));
  if (full.length <= maxLength) return { title, body: full, truncated: false };

  // Rows go in, table by table, while the body (with a "…and N more" line for every table) still fits.
  const kept = tables.map(() => 0);
  let length = render(kept).length;
  for (let t = 0; t < tables.length; t++) {
    for (const row of tables[t]!.rows) {
      if (length + row.length + 1 > maxLength) break;
      kept[t]!++;
      length += row.length + 1;
    }
  }
  let body = render(kept);
  // The estimate ignores "…and N more" lines vanishing or their counts shrinking; trim until it really fits.
  while (body.length > maxLength && kept.some((k) => k > 0)) {
    const last = kept.findLastIndex((k) => k > 0);
    kept[last]!--;
    body = render(kept);
  }
  return { title, body, truncated: true };
}
