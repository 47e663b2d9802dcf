/**
 * Conversion of Airbnb Ottr's data into this repository's files. Pure: text or parsed JSON in, routing rules,
 * devices and problems out; the `ottr import-ottr` command does the file I/O.
 *
 * Ottr's shapes (airbnb/ottr):
 * - `otter/router/src/config/route.json`: `platform.<host_platform>` is either `"PENDING"` or
 *   `{os: {<os_version>: {certificate_authority: {<ca>: <ECS task family>}, model?: [<device_model>…]}}}`;
 *   the router looked a device up by exact string equality (`shared/client.py` `_validate_route`), a `model`
 *   list restricting it to those models. Task families are `otter-panos-9x-lets-encrypt`,
 *   `otter-f5-14x-lets-encrypt`, `otter-lighthouse-21x-lets-encrypt`, `otter-linux-aws-ssm-lets-encrypt`.
 *   Also `certificate_authorities`, `certificate_authority_organization` and `hosted_zones`.
 * - The DynamoDB asset table (hash key `system_name`, an FQDN): `system_name`, `common_name`,
 *   `subject_alternative_name` (a list), `ip_address`, `host_platform`, `os_version`, `device_model`,
 *   `data_center`, `certificate_authority`, `certificate_validation` ("True"/"False"), `certificate_expiration`
 *   (naive ISO-8601 UTC from `datetime.isoformat()`, or "None" before the first rotation) and `origin`.
 *   Unset optional fields hold the string "None".
 */

import { isIP } from 'node:net';
import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
import { dnsNameProblem } from '../model/dns-name.ts';
import { NAME_PATTERN, platformKey, snakeCaseKey } from '../model/names.ts';
import type { Connection, Device, Route } from '../model/types.ts';
import { PLATFORMS, platformInfo } from '../platforms/registry.ts';
import { compileRoutes, osVersionPatternProblem } from '../routing/match.ts';

export interface ImportProblem {
  /** The item (its system_name, or `item #n`) or the route.json entry the problem is about. */
  item: string;
  message: string;
}

export interface OttrImport {
  routes: Route[];
  devices: Device[];
  /** Items or route.json entries that were skipped or need a person before they validate. */
  problems: ImportProblem[];
  /** Facts worth knowing that need no fix (PENDING platforms, authorities to configure, hosted zones). */
  notes: string[];
  /** For each route, where in route.json it came from (same order as `routes`). */
  routeSources: string[];
}

const PLATFORM_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const OS_VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
const AUTHORITY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const ROUTE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * The driver for an Ottr task family (`otter-panos-9x-lets-encrypt` → panos, `otter-linux-aws-ssm-…` →
 * linux-ssm, a site's own `otter-linux-ssh-…` → linux-ssh), or undefined: the platform whose manifest names the
 * most words of the task wins, a tie goes to the first in the registry. Our own driver names pass through.
 */
export function driverForTask(task: string): string | undefined {
  const t = task.trim().toLowerCase();
  if (platformInfo(t)) return t;
  const tokens = new Set(t.split(/[^a-z0-9]+/));
  let best: { name: string; words: number } | undefined;
  for (const platform of PLATFORMS) {
    const words = (platform.aliases?.ottrTaskWords ?? []).filter((w) => tokens.has(w)).length;
    if (words > 0 && words > (best?.words ?? 0)) best = { name: platform.name, words };
  }
  return best?.name;
}

const KNOWN_AUTHORITIES: Readonly<Record<string, string>> = {
  letsencrypt: 'lets_encrypt',
  letsencryptstaging: 'lets_encrypt_staging',
  digicert: 'digicert',
  digicertinc: 'digicert',
};

/** A certificate authority name as a snake_case settings key: `Let's Encrypt` → `lets_encrypt`. */
export function authorityKey(name: string): string {
  const known = KNOWN_AUTHORITIES[name.toLowerCase().replace(/[^a-z0-9]/g, '')];
  return known ?? snakeCaseKey(name);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------------
// JSON text → values, with positions for syntax errors

/** A JSON syntax error with the 1-based line and column where it was found. */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${line}:${column}: invalid JSON: ${detail}`);
  }
}

const PARSE_ERROR_TEXT: Readonly<Record<string, string>> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'a property name in double quotes expected',
  ValueExpected: 'a value expected',
  ColonExpected: '":" expected',
  CommaExpected: '"," expected',
  CloseBraceExpected: '"}" expected',
  CloseBracketExpected: '"]" expected',
  EndOfFileExpected: 'end of file expected (more than one JSON value?)',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'unexpected end of comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unexpected end of number',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in a string',
};

/** Where strict JSON parsing of `text` first fails, or undefined when `text` is valid JSON. */
function jsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return undefined;
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const column = first.offset - before.lastIndexOf('\n');
  const code = printParseErrorCode(first.error);
  return new JsonSyntaxError(line, column, PARSE_ERROR_TEXT[code] ?? code);
}

/** Parses strict JSON; a syntax error is thrown as JsonSyntaxError naming the line and column. */
export function parseJson(text: string): unknown {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') throw new JsonSyntaxError(1, 1, 'the file is empty');
  try {
    return JSON.parse(body);
  } catch (error) {
    throw jsonSyntaxError(body) ?? new JsonSyntaxError(1, 1, (error as Error).message.split('\n')[0]!);
  }
}

/**
 * The items of an asset export, in any shape DynamoDB produces: `aws dynamodb scan --output json`
 * (`{"Items": [...], "Count": …}`), an export to S3 (DYNAMODB_JSON: one `{"Item": {...}}` per line), or a
 * plain JSON array of items, typed (`{"S": "…"}`) or not. Typed attribute values are unmarshalled.
 * Throws JsonSyntaxError (with the line of the S3 format's broken line) or Error for an unknown shape.
 */
export function parseAssetExport(text: string): unknown[] {
  const body = text.replace(/^\uFEFF/, '');
  let whole: unknown;
  try {
    whole = parseJson(body);
  } catch (error) {
    // One JSON document per line (DynamoDB export to S3): parse line by line to name the broken line.
    const lines = body.split('\n');
    const firstLine = lines.find((l) => l.trim() !== '') ?? '';
    let firstValue: unknown;
    try {
      firstValue = JSON.parse(firstLine);
    } catch {
      throw error;
    }
    if (!isObject(firstValue)) throw error;
    const items: unknown[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (lineError) {
        const at = jsonSyntaxError(line);
        throw new JsonSyntaxError(
          i + 1,
          at?.column ?? 1,
          at?.detail ?? (lineError as Error).message.split('\n')[0]!,
        );
      }
      items.push(value);
    });
    return items.map(unwrapItem);
  }
  if (Array.isArray(whole)) return whole.map(unwrapItem);
  if (isObject(whole)) {
    if (Array.isArray(whole.Items)) return whole.Items.map(unwrapItem);
    if (isObject(whole.Item)) return [unwrapItem(whole)];
    if ('system_name' in whole) return [unwrapItem(whole)];
  }
  throw new Error(
    'is not a DynamoDB export: expected {"Items": [...]} (aws dynamodb scan), one {"Item": {...}} per line (export to S3) or an array of items',
  );
}

function unwrapItem(value: unknown): unknown {
  const item =
    isObject(value) && isObject(value.Item) && Object.keys(value).length === 1 ? value.Item : value;
  return isObject(item) ? unmarshalItem(item) : item;
}

const TYPE_KEYS = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'SS', 'NS', 'BS', 'L', 'M']);

function isTypedValue(value: unknown): value is Record<string, unknown> {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && TYPE_KEYS.has(keys[0]!);
}

/**
 * A plain value from DynamoDB's typed JSON: S, N, B, BOOL, NULL, SS, NS, BS, L, M. Numbers stay the decimal
 * text DynamoDB sends (an os_version stored as N 10.20 stays "10.20"); binary stays base64.
 */
export function unmarshal(value: unknown): unknown {
  if (!isTypedValue(value)) return value;
  const [type] = Object.keys(value) as [string];
  const inner = value[type];
  switch (type) {
    case 'NULL':
      return null;
    case 'L':
      return Array.isArray(inner) ? inner.map(unmarshal) : inner;
    case 'M':
      return isObject(inner)
        ? Object.fromEntries(Object.entries(inner).map(([k, v]) => [k, unmarshal(v)]))
        : inner;
    default:
      return inner;
  }
}

/** An item with typed attribute values (every attribute `{"S": …}`-like) as plain values; others as they are. */
export function unmarshalItem(item: Record<string, unknown>): Record<string, unknown> {
  const values = Object.values(item);
  if (values.length === 0 || !values.every(isTypedValue)) return item;
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, unmarshal(v)]));
}

// ---------------------------------------------------------------------------------------------------------------
// Values

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * An ISO-8601 date-time as `2026-01-02T03:04:05Z`. Ottr wrote naive `datetime.isoformat()` strings in UTC, so
 * a value without a zone is read as UTC; an explicit offset is honoured; fractions of a second are dropped.
 * Undefined for anything else (including impossible dates like 2026-02-30).
 */
export function normaliseExpiry(value: string): string | undefined {
  const m = ISO_DATE_TIME.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', zone] = m;
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = parts;
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(local);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = Number(digits.slice(2) || '0');
    if (zh > 23 || zm > 59) return undefined;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (zh * 60 + zm);
  }
  return `${new Date(local - offsetMinutes * 60_000).toISOString().slice(0, 19)}Z`;
}

type Text = { ok: true; value: string | undefined } | { ok: false; message: string };

/** A string attribute: trimmed; absent, empty and Ottr's "None" are "not set". Numbers are taken as text. */
function textOf(item: Record<string, unknown>, field: string): Text {
  const value = item[field];
  if (value === undefined || value === null) return { ok: true, value: undefined };
  if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value: String(value) };
  if (typeof value !== 'string')
    return { ok: false, message: `${field} is ${describe(value)}, not a string` };
  const trimmed = value.trim();
  return { ok: true, value: trimmed === '' || trimmed === 'None' ? undefined : trimmed };
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'a map' : `${typeof value} ${JSON.stringify(value)}`;
}

function booleanOf(value: unknown): boolean | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (v === '' || v === 'none') return undefined;
    if (v === 'true') return true;
    if (v === 'false') return false;
  }
  return 'invalid';
}

function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

// ---------------------------------------------------------------------------------------------------------------
// route.json → routes

function routeName(platform: string, version: string, authority: string): string {
  return `${platform}-${version}-${authority}`
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
}

/** One rule per (platform, os version, authority) of route.json, in its order, with exact os_version. */
function convertRoutes(routeJson: unknown, out: OttrImport): void {
  const problem = (item: string, message: string) => out.problems.push({ item, message });
  if (!isObject(routeJson) || !isObject(routeJson.platform)) {
    problem('route.json', 'has no "platform" object; is this Ottr\'s otter/router/src/config/route.json?');
    return;
  }
  const names = new Set<string>();
  const pending: string[] = [];
  for (const [platformName, spec] of Object.entries(routeJson.platform)) {
    const where = `route.json platform ${JSON.stringify(platformName)}`;
    if (spec === 'PENDING') {
      pending.push(platformName);
      continue;
    }
    if (!isObject(spec) || !isObject(spec.os)) {
      problem(where, `is ${describe(spec)}, not {"os": {...}}; skipped`);
      continue;
    }
    const platform = platformKey(platformName);
    if (!PLATFORM_PATTERN.test(platform)) {
      problem(
        where,
        `platform name ${quote(platformName)} cannot be a host_platform ([a-z0-9][a-z0-9_-]{0,31}); skipped`,
      );
      continue;
    }
    for (const [version, osSpec] of Object.entries(spec.os)) {
      const at = `${where} os ${JSON.stringify(version)}`;
      if (!isObject(osSpec) || !isObject(osSpec.certificate_authority)) {
        problem(at, 'has no certificate_authority map; skipped');
        continue;
      }
      const versionProblem = osVersionPatternProblem(version.trim());
      if (versionProblem) {
        problem(at, `os version ${versionProblem}; skipped`);
        continue;
      }
      let models: string[] | undefined;
      if (osSpec.model !== undefined) {
        if (
          !Array.isArray(osSpec.model) ||
          !osSpec.model.every((m) => typeof m === 'string' && m.trim() !== '')
        ) {
          problem(at, 'model is not a list of model names; skipped');
          continue;
        }
        if (osSpec.model.length === 0) {
          problem(at, 'model is an empty list, so Ottr routed no device with it; skipped');
          continue;
        }
        models = [...new Set((osSpec.model as string[]).map((m) => m.trim()))];
      }
      for (const [authorityName, task] of Object.entries(osSpec.certificate_authority)) {
        const entry = `${at} certificate_authority ${JSON.stringify(authorityName)}`;
        const driver = typeof task === 'string' ? driverForTask(task) : undefined;
        if (!driver) {
          problem(
            entry,
            `task ${typeof task === 'string' ? quote(task) : describe(task)} names no supported platform (panos, f5, lighthouse, linux ssm/ssh); skipped`,
          );
          continue;
        }
        const authority = authorityKey(authorityName);
        if (!AUTHORITY_PATTERN.test(authority)) {
          problem(
            entry,
            `${quote(authorityName)} cannot be an authority key ([a-z0-9][a-z0-9_-]{0,63}); skipped`,
          );
          continue;
        }
        const base = routeName(platform, version.trim(), authority);
        let name = base;
        for (let n = 2; names.has(name) || !ROUTE_NAME_PATTERN.test(name); n++) {
          name = `${base.slice(0, 60)}-${n}`;
        }
        names.add(name);
        const route: Route = {
          name,
          match: { host_platform: platform, os_version: version.trim(), certificate_authority: authority },
          platform: driver,
        };
        if (models) route.match.device_model = models;
        const options = platformInfo(driver)?.aliases?.ottrParityOptions;
        if (options) route.options = { ...options };
        out.routes.push(route);
        out.routeSources.push(`${entry} → ${String(task)}`);
      }
    }
  }
  if (pending.length > 0) {
    out.notes.push(
      `route.json marks ${pending.join(', ')} as PENDING (no Ottr task); devices of ${pending.length === 1 ? 'that platform' : 'those platforms'} get no rule`,
    );
  }
  if (isObject(routeJson.hosted_zones)) {
    const zones = Object.entries(routeJson.hosted_zones).map(([zone, id]) => `${zone} (${String(id)})`);
    if (zones.length > 0) {
      out.notes.push(
        `Ottr's hosted zones: ${zones.join(', ')}; their _acme-challenge CNAMEs must point at the delegate zone set in routing/settings.yaml (see "ottr dns-records")`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// asset items → devices

/** One asset item → a device, or undefined with its problems recorded. */
function convertItem(
  raw: unknown,
  position: number,
  driverFor: (device: Device) => { driver: string } | { reason: string },
  seen: Set<string>,
  out: OttrImport,
): Device | undefined {
  if (!isObject(raw)) {
    out.problems.push({
      item: `item #${position + 1}`,
      message: `is ${describe(raw)}, not an item; skipped`,
    });
    return undefined;
  }
  const item = raw;
  const rawName = typeof item.system_name === 'string' ? item.system_name.trim() : '';
  const label = rawName !== '' && rawName !== 'None' ? rawName : `item #${position + 1}`;
  const errors: string[] = [];
  const field = (name: string, required: boolean): string | undefined => {
    const t = textOf(item, name);
    if (!t.ok) {
      errors.push(t.message);
      return undefined;
    }
    if (t.value === undefined && required) errors.push(`${name} is missing`);
    return t.value;
  };

  const nameText = field('system_name', true);
  const system_name = nameText?.toLowerCase();
  if (system_name !== undefined && !NAME_PATTERN.test(system_name)) {
    errors.push(`system_name ${quote(nameText!)} cannot be a file name ([a-z0-9][a-z0-9._-]{0,62})`);
  }
  const commonText = field('common_name', true);
  const common_name = commonText?.toLowerCase().replace(/\.$/, '');
  if (common_name !== undefined) {
    const p = dnsNameProblem(common_name);
    if (p) errors.push(`common_name ${quote(commonText!)} ${p}`);
  }
  const platformText = field('host_platform', true);
  const host_platform = platformText === undefined ? undefined : platformKey(platformText);
  if (host_platform !== undefined && !PLATFORM_PATTERN.test(host_platform)) {
    errors.push(`host_platform ${quote(platformText!)} cannot be a platform name ([a-z0-9][a-z0-9_-]{0,31})`);
  }
  const os_version = field('os_version', true);
  if (os_version !== undefined && !OS_VERSION_PATTERN.test(os_version)) {
    errors.push(`os_version ${quote(os_version)} is not a version (letters, digits, . _ + -)`);
  }
  const dcText = field('data_center', true);
  const data_center = dcText?.toLowerCase();
  if (data_center !== undefined && !NAME_PATTERN.test(data_center)) {
    errors.push(`data_center ${quote(dcText!)} cannot be a folder name ([a-z0-9][a-z0-9._-]{0,62})`);
  }
  const caText = field('certificate_authority', true);
  const certificate_authority = caText === undefined ? undefined : authorityKey(caText);
  if (certificate_authority !== undefined && !AUTHORITY_PATTERN.test(certificate_authority)) {
    errors.push(`certificate_authority ${quote(caText!)} cannot be an authority key`);
  }
  const device_model = field('device_model', false);
  if (device_model !== undefined && device_model.length > 64) {
    errors.push(`device_model ${quote(device_model)} is longer than 64 characters`);
  }
  const ip_address = field('ip_address', false);
  if (ip_address !== undefined && isIP(ip_address) === 0) {
    errors.push(`ip_address ${quote(ip_address)} is not an IPv4 or IPv6 address`);
  }
  const origin = field('origin', false);

  let sans: string[] = [];
  const rawSans = item.subject_alternative_name;
  if (Array.isArray(rawSans) || typeof rawSans === 'string') {
    const list = Array.isArray(rawSans) ? rawSans : rawSans === 'None' ? [] : rawSans.split(',');
    for (const entry of list) {
      if (typeof entry !== 'string') {
        errors.push(`subject_alternative_name holds ${describe(entry)}, not a name`);
        continue;
      }
      const name = entry.trim().toLowerCase().replace(/\.$/, '');
      if (name === '' || name === 'none') continue;
      const p = dnsNameProblem(name);
      if (p) errors.push(`subject_alternative_name ${quote(entry)} ${p}`);
      else sans.push(name);
    }
  } else if (rawSans !== undefined && rawSans !== null) {
    errors.push(`subject_alternative_name is ${describe(rawSans)}, not a list of names`);
  }
  sans = [...new Set(sans)].filter((name) => name !== common_name);
  if (sans.length > 99)
    errors.push(`subject_alternative_name has ${sans.length} names; at most 99 besides the CN`);

  const validation = booleanOf(item.certificate_validation);
  if (validation === 'invalid') {
    errors.push(`certificate_validation ${describeValue(item.certificate_validation)} is not True or False`);
  }
  const expiryText = field('certificate_expiration', false);
  const notAfter = expiryText === undefined ? undefined : normaliseExpiry(expiryText);
  if (expiryText !== undefined && notAfter === undefined) {
    errors.push(`certificate_expiration ${quote(expiryText)} is not an ISO-8601 date-time`);
  }

  if (errors.length > 0) {
    for (const message of errors) out.problems.push({ item: label, message: `${message}; item skipped` });
    return undefined;
  }
  if (seen.has(system_name!)) {
    out.problems.push({
      item: label,
      message: `system_name appears more than once in the export (compared in lowercase); the first is kept`,
    });
    return undefined;
  }
  seen.add(system_name!);

  const device: Device = {
    system_name: system_name!,
    common_name: common_name!,
    host_platform: host_platform!,
    os_version: os_version!,
    data_center: data_center!,
    certificate_authority: certificate_authority!,
  };
  if (sans.length > 0) device.subject_alternative_names = sans;
  if (device_model !== undefined) device.device_model = device_model;
  if (ip_address !== undefined) device.ip_address = ip_address;
  if (validation === false) device.certificate_validation = false;
  if (origin !== undefined) device.labels = { origin: origin.slice(0, 256) };
  if (notAfter !== undefined) device.certificate = { not_after: notAfter };

  const routed = driverFor(device);
  if ('reason' in routed) {
    out.problems.push({ item: label, message: `${routed.reason}; written without connection settings` });
    return device;
  }
  const driver = routed.driver;
  const connection: Connection = {};
  const credentials = platformInfo(driver)?.aliases?.defaultCredentials;
  if (credentials) connection.credentials = credentials;
  if (driver === 'linux-ssm') {
    // Ottr found the instance by tag:Name = the first label of the system name.
    connection.instance_tag = { key: 'Name', value: nameText!.split('.')[0]! };
  }
  if (driver === 'linux-ssh') {
    out.problems.push({
      item: label,
      message:
        'linux-ssh: fill in connection.ssh_host_key before the device validates; the importer cannot know the host key (read it on the host with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub, or with ssh-keyscan from a trusted network)',
    });
  }
  if (validation === false && platformInfo(driver)?.transport === 'https') {
    out.problems.push({
      item: label,
      message:
        'certificate_validation is False: pin the management key with connection.tls_spki_sha256 before the device validates (no trust on first use)',
    });
  }
  if (Object.keys(connection).length > 0) device.connection = connection;
  return device;
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? quote(value) : describe(value);
}

/**
 * Converts Ottr's route.json (parsed) and asset items (plain or typed DynamoDB JSON) into routing rules and
 * devices. Every item that is missing a required field or holds an invalid value is reported in `problems`
 * (naming the item and the field) and skipped; converted devices that need a person before they validate
 * (SSH host key, unpinned TLS, no matching rule) are kept and reported too.
 */
export function convertOttr(routeJson: unknown, items: readonly unknown[]): OttrImport {
  const out: OttrImport = { routes: [], devices: [], problems: [], notes: [], routeSources: [] };
  convertRoutes(routeJson, out);
  const match = compileRoutes(out.routes);
  const driverFor = (device: Device) => {
    const result = match(device);
    return result.matched ? { driver: result.route.platform } : { reason: result.reason };
  };
  const seen = new Set<string>();
  items.forEach((raw, position) => {
    const device = convertItem(raw, position, driverFor, seen, out);
    if (device) out.devices.push(device);
  });
  const authorities = [
    ...new Set([
      ...out.routes.map((r) => r.match.certificate_authority!),
      ...out.devices.map((d) => d.certificate_authority),
    ]),
  ].sort();
  if (authorities.length > 0) {
    out.notes.push(`routing/settings.yaml needs these keys under authorities: ${authorities.join(', ')}`);
  }
  return out;
}
