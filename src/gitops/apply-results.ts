import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, parseDocument, Scalar, stringify } from 'yaml';
import { RESULT_SCHEMA, type RotationResult } from '../model/results.ts';
import type { CertificateRecord } from '../model/types.ts';
import { writeFileAtomic } from '../util/files.ts';

const FIELDS: (keyof CertificateRecord)[] = [
  'not_before',
  'not_after',
  'serial',
  'issuer',
  'sha256_fingerprint',
  'rotated_at',
];

/** The `certificate:` block for a device file, every value a double-quoted string. */
export function renderCertificateBlock(record: CertificateRecord): string {
  const quote = (v: string) =>
    stringify(v, { defaultStringType: Scalar.QUOTE_DOUBLE, lineWidth: 0 }).trimEnd();
  const lines = ['certificate:'];
  for (const field of FIELDS) {
    const value = record[field];
    if (typeof value === 'string') lines.push(`  ${field}: ${quote(value)}`);
  }
  if (record.renewal_window) {
    lines.push(
      '  renewal_window:',
      `    start: ${quote(record.renewal_window.start)}`,
      `    end: ${quote(record.renewal_window.end)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function certificateRecord(result: RotationResult): CertificateRecord | undefined {
  const c = result.certificate;
  if (result.status !== 'rotated' || !c) return undefined;
  const record: CertificateRecord = {
    not_before: c.not_before,
    not_after: c.not_after,
    serial: c.serial,
    issuer: c.issuer,
    sha256_fingerprint: c.sha256_fingerprint,
    rotated_at: c.rotated_at,
  };
  if (c.renewal_window) record.renewal_window = c.renewal_window;
  return record;
}

/**
 * A device file with its `certificate:` block replaced (or appended), every other byte untouched. The block
 * is found by the YAML parser, then replaced as text from the start of its key's line to the end of its value,
 * so comments, order and quoting elsewhere stay exactly as they were. Returns undefined when nothing changes.
 */
export function applyCertificate(text: string, record: CertificateRecord): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents))
    throw new Error('the device file does not parse as a mapping');
  // The block is spliced in as lines at column 0: a flow mapping ({…}) or an indented one would be broken by it.
  if (doc.contents.flow)
    throw new Error('the device file is a flow mapping ({…}); write it as a block mapping');
  const block = renderCertificateBlock(record);
  const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'certificate');
  if (!pair) {
    const base = text.endsWith('\n') ? text : `${text}\n`;
    return `${base}\n# Written by automation after each rotation; do not edit by hand.\n${block}`;
  }
  const keyStart = (pair.key as Scalar).range![0];
  const lineStart = text.lastIndexOf('\n', keyStart - 1) + 1;
  if (lineStart !== keyStart)
    throw new Error('the certificate key does not start its line; write the device file without indentation');
  const valueEnd =
    (pair.value as { range?: [number, number, number] } | null)?.range?.[1] ?? (pair.key as Scalar).range![1];
  // The replaced span ends at the end of the value's last line.
  const lineEnd = text.indexOf('\n', Math.max(valueEnd - 1, keyStart));
  const end = lineEnd === -1 ? text.length : lineEnd + 1;
  const current = text.slice(lineStart, end);
  if (current === block) return undefined;
  return text.slice(0, lineStart) + block + text.slice(end);
}

/** What applying a run's results to a repository did, device by device. */
export interface ApplyReport {
  updated: { system_name: string; file: string; not_after: string }[];
  unchanged: string[];
  /** Failed, rolled back or skipped devices: their files are left as they are. */
  untouched: { system_name: string; status: RotationResult['status'] }[];
  /** Results for devices that left the inventory since the plan. */
  removed: string[];
  /** Result or device files that could not be read or written, with the reason. */
  problems: { file: string; message: string }[];
}

/** Every `*.json` below `dir` (downloaded artifacts come one folder per device), sorted. */
export function resultFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...resultFiles(path));
    else if (entry.name.endsWith('.json')) out.push(path);
  }
  return out.sort();
}

/** Reads the result files of a run; files that are not results become problems, never exceptions. */
export function readResults(files: readonly string[]): {
  results: RotationResult[];
  problems: ApplyReport['problems'];
} {
  const results: RotationResult[] = [];
  const problems: ApplyReport['problems'] = [];
  for (const file of files) {
    try {
      const result = JSON.parse(readFileSync(file, 'utf8')) as RotationResult;
      if (result?.schema !== RESULT_SCHEMA || typeof result.system_name !== 'string')
        throw new Error('not an ottr result file');
      results.push(result);
    } catch (error) {
      problems.push({ file, message: (error as Error).message });
    }
  }
  return { results, problems };
}

/**
 * Writes each rotated result into its device file under `root` (atomically, file by file). `devices` maps
 * system names to their file paths relative to root, as the repository loaded them.
 */
export function applyResults(
  root: string,
  devices: ReadonlyMap<string, string>,
  results: readonly RotationResult[],
): ApplyReport {
  const report: ApplyReport = { updated: [], unchanged: [], untouched: [], removed: [], problems: [] };
  for (const result of results) {
    const record = certificateRecord(result);
    if (!record) {
      report.untouched.push({ system_name: result.system_name, status: result.status });
      continue;
    }
    const file = devices.get(result.system_name);
    if (!file) {
      report.removed.push(result.system_name);
      continue;
    }
    try {
      const updated = applyCertificate(readFileSync(join(root, file), 'utf8'), record);
      if (updated === undefined) report.unchanged.push(result.system_name);
      else {
        writeFileAtomic(join(root, file), updated);
        report.updated.push({ system_name: result.system_name, file, not_after: record.not_after });
      }
    } catch (error) {
      report.problems.push({ file, message: `not updated: ${(error as Error).message}` });
    }
  }
  return report;
}
