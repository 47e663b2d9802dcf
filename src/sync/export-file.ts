/**
 * Discovery from a CMDB export: a CSV file with a header row, or JSON (an array of objects, or an object whose
 * `items`, `devices`, `records`, `rows` or `result` holds one). Columns map to device fields by name, with the
 * usual aliases; unknown columns are ignored. Every device the export creates or updates is labelled
 * `ottr/source: <source>`, and only devices with that label can be reported as vanished from it.
 */

import { NAME_PATTERN, platformKey, snakeCaseKey } from '../model/names.ts';
import { splitNames } from '../onboard/fields.ts';
import { PLATFORMS } from '../platforms/registry.ts';
import { csvRows } from './csv.ts';
import { parseJsonText } from './json-export.ts';
import { type Candidate, type PlanOptions, SOURCE_LABEL } from './sync-plan.ts';

/** Device field (or `connection.<key>`) ← the column names that mean it, compared after normalising. */
export const COLUMN_ALIASES: Readonly<Record<string, readonly string[]>> = {
  system_name: ['system_name', 'hostname', 'host', 'name', 'device', 'device_name'],
  common_name: ['common_name', 'fqdn', 'dns_name', 'cn'],
  subject_alternative_names: [
    'subject_alternative_names',
    'subject_alternative_name',
    'san',
    'sans',
    'aliases',
  ],
  host_platform: ['host_platform', 'platform'],
  os_version: ['os_version', 'os', 'version', 'firmware'],
  device_model: ['device_model', 'model'],
  data_center: ['data_center', 'datacenter', 'site', 'dc', 'location'],
  ip_address: ['ip_address', 'ip', 'ip_addr', 'management_ip', 'mgmt_ip'],
  certificate_authority: ['certificate_authority', 'ca', 'authority'],
  certificate_validation: ['certificate_validation'],
  owner: ['owner', 'team', 'contact'],
  'connection.credentials': ['credentials', 'credentials_secret'],
  'connection.port': ['port'],
  'connection.tls_port': ['tls_port'],
  'connection.username': ['username', 'user'],
  'connection.ssh_host_key': ['ssh_host_key'],
  'connection.tls_spki_sha256': ['tls_spki_sha256'],
  'connection.instance_id': ['instance_id'],
  'connection.region': ['region'],
};

const REQUIRED = [
  'system_name',
  'common_name',
  'host_platform',
  'os_version',
  'data_center',
  'certificate_authority',
];

/** Common spellings of platforms in CMDBs → this repository's host_platform values (from the manifests). */
const PLATFORM_ALIASES: ReadonlyMap<string, string> = new Map(
  PLATFORMS.flatMap((p) => (p.aliases?.cmdbNames ?? []).map((alias) => [alias, p.name] as const)),
);

export function normaliseColumn(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s.-]+/g, '_');
}

const FIELD_OF_COLUMN = new Map(
  Object.entries(COLUMN_ALIASES).flatMap(([field, aliases]) => aliases.map((a) => [a, field] as const)),
);

export interface ExportRow {
  /** Where the row is: `line 4` (CSV) or `item 3` (JSON). */
  at: string;
  values: Record<string, string | string[]>;
}

export type ExportFormat = 'csv' | 'json';

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function cell(value: unknown): string | string[] | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'object') return undefined;
  return String(value);
}

/** The rows of an export. Throws CsvSyntaxError, JsonExportError or Error (an unknown JSON shape). */
export function parseExport(text: string, format: ExportFormat): ExportRow[] {
  if (format === 'csv') return csvRows(text).map((row) => ({ at: `line ${row.line}`, values: row.values }));
  const whole = parseJsonText(text);
  const list = Array.isArray(whole)
    ? whole
    : isObject(whole)
      ? ['items', 'devices', 'records', 'rows', 'result'].map((k) => whole[k]).find(Array.isArray)
      : undefined;
  if (!list)
    throw new Error(
      'is neither a JSON array of objects nor an object with items, devices, records, rows or result',
    );
  return list.map((item, i) => {
    const values: Record<string, string | string[]> = {};
    if (isObject(item))
      for (const [key, value] of Object.entries(item)) {
        const text = cell(value);
        if (text !== undefined) values[key] = text;
      }
    return { at: `item ${i + 1}`, values };
  });
}

/** The export format a file name suggests (`.csv` → csv, else json). */
export function formatOf(path: string): ExportFormat {
  return /\.csv$/i.test(path) ? 'csv' : 'json';
}

const lowerName = (value: string) => value.trim().toLowerCase().replace(/\.$/, '');

/** One export row as a candidate device. Cells that are empty are treated as absent. */
export function rowCandidate(row: ExportRow): Candidate {
  const byField: Record<string, { column: string; value: string | string[] }> = {};
  for (const [column, value] of Object.entries(row.values)) {
    const field = FIELD_OF_COLUMN.get(normaliseColumn(column));
    const empty = Array.isArray(value) ? value.every((v) => v.trim() === '') : value.trim() === '';
    if (!field || empty || byField[field]) continue;
    byField[field] = { column, value };
  }
  const text = (field: string) => {
    const entry = byField[field];
    return entry === undefined
      ? undefined
      : Array.isArray(entry.value)
        ? entry.value.join(',')
        : entry.value.trim();
  };
  const systemName = text('system_name')?.toLowerCase();
  const candidate: Candidate = {
    ref: systemName ? `${row.at} (${systemName})` : row.at,
    fields: {},
    owned: [],
    identity: {},
    missing: [],
    invalid: [],
  };
  for (const field of REQUIRED)
    if (!byField[field])
      candidate.missing.push(`${field} (column ${COLUMN_ALIASES[field]!.slice(0, 3).join(' or ')})`);

  const fields = candidate.fields as Record<string, unknown>;
  const connection: Record<string, unknown> = {};
  for (const field of Object.keys(byField)) {
    const value = text(field)!;
    let converted: unknown = value;
    switch (field) {
      case 'system_name':
      case 'data_center':
        converted = value.toLowerCase();
        break;
      case 'common_name':
        converted = lowerName(value);
        break;
      case 'subject_alternative_names':
        converted = [...new Set(splitNames([value]).map(lowerName))].filter(
          (n) => n !== lowerName(text('common_name') ?? ''),
        );
        if ((converted as string[]).length === 0) continue;
        break;
      case 'host_platform': {
        const key = platformKey(value);
        converted = PLATFORM_ALIASES.get(key) ?? key;
        break;
      }
      case 'certificate_authority':
        converted = snakeCaseKey(value);
        break;
      case 'certificate_validation': {
        const lower = value.toLowerCase();
        if (!['true', 'false', 'yes', 'no'].includes(lower)) {
          candidate.invalid.push(`${byField[field]!.column} "${value}" is not true or false`);
          continue;
        }
        converted = lower === 'true' || lower === 'yes';
        break;
      }
      case 'connection.port':
      case 'connection.tls_port': {
        const port = Number(value);
        if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
          candidate.invalid.push(`${byField[field]!.column} "${value}" is not a port number`);
          continue;
        }
        converted = port;
        break;
      }
    }
    if (field.startsWith('connection.')) connection[field.slice('connection.'.length)] = converted;
    else fields[field] = converted;
    candidate.owned.push(field.split('.'));
  }
  if (Object.keys(connection).length > 0) fields.connection = connection;
  if (typeof fields.system_name === 'string' && !NAME_PATTERN.test(fields.system_name))
    candidate.invalid.push(
      `system_name "${fields.system_name}" cannot be a file name ([a-z0-9][a-z0-9._-]{0,62})`,
    );
  if (typeof fields.data_center === 'string' && !NAME_PATTERN.test(fields.data_center))
    candidate.invalid.push(
      `data_center "${fields.data_center}" cannot be a folder name ([a-z0-9][a-z0-9._-]{0,62})`,
    );
  if (typeof fields.system_name === 'string') candidate.identity.system_name = fields.system_name;
  if (typeof fields.common_name === 'string') candidate.identity.common_name = fields.common_name;
  if (typeof connection.instance_id === 'string') candidate.identity.instance_id = connection.instance_id;
  return candidate;
}

/** Devices labelled with this source's name are its own: those the export no longer lists are vanished. */
export function filePlanOptions(source: string): PlanOptions {
  return {
    source,
    claims: (device) => device.labels?.[SOURCE_LABEL] === source,
    vanishedReason: () => `no longer in the ${source} export`,
  };
}
