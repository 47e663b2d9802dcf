/**
 * Conversion of Airbnb Ottr's data into this repository's files (pure: parsed JSON in, routes and devices out).
 *
 * Ottr's route.json: `platform.<host_platform>.os.<os_version> = {certificate_authority: {<ca>: <task>},
 * model?: [...]}` (or the string "PENDING"), matched by exact string equality. Its DynamoDB asset table holds
 * items with system_name (an FQDN), common_name, subject_alternative_name, ip_address, host_platform,
 * os_version, device_model, data_center, certificate_authority, certificate_validation ("True"/"False"),
 * certificate_expiration (ISO date or "None") and origin.
 */
import { dnsNameProblem } from '../model/dns-name.ts';
import type { Connection, Device, Route } from '../model/types.ts';

export interface ImportProblem {
  /** The item (system_name, or its position) or the route the problem is about. */
  item: string;
  message: string;
}

export interface OttrImport {
  routes: Route[];
  devices: Device[];
  problems: ImportProblem[];
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Ottr's task definitions name the platform container: otter-panos-9x-lets-encrypt, otter-linux-aws-ssm-… */
export function driverForTask(task: string): string | undefined {
  const t = task.toLowerCase();
  if (t.includes('linux') && t.includes('ssm')) return 'linux-ssm';
  if (t.includes('linux')) return 'linux-ssh';
  if (t.includes('panos')) return 'panos';
  if (t.includes('f5')) return 'f5';
  if (t.includes('lighthouse')) return 'lighthouse';
  return undefined;
}

/** Default credential secret names per driver (users rename them freely). */
export const DEFAULT_CREDENTIALS: Record<string, string> = {
  panos: 'PANOS_API_KEY',
  f5: 'F5_CREDENTIALS',
  lighthouse: 'LIGHTHOUSE_CREDENTIALS',
  'linux-ssh': 'LINUX_SSH_KEY',
};

export function authorityKey(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

export function platformKey(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** One rule per (platform, os version, authority), in route.json's order. */
export function convertRoutes(routeJson: unknown, problems: ImportProblem[]): Route[] {
  const routes: Route[] = [];
  if (!isObject(routeJson) || !isObject(routeJson.platform)) {
    problems.push({ item: 'route.json', message: 'has no "platform" object; is this Ottr\'s route.json?' });
    return routes;
  }
  const names = new Set<string>();
  for (const [platform, spec] of Object.entries(routeJson.platform)) {
    if (!isObject(spec)) {
      problems.push({ item: `platform ${platform}`, message: `is "${String(spec)}", not a route; skipped` });
      continue;
    }
    if (!isObject(spec.os)) {
      problems.push({ item: `platform ${platform}`, message: 'has no "os" object; skipped' });
      continue;
    }
    for (const [version, osSpec] of Object.entries(spec.os)) {
      if (!isObject(osSpec) || !isObject(osSpec.certificate_authority)) {
        problems.push({
          item: `platform ${platform} os ${version}`,
          message: 'has no certificate_authority map; skipped',
        });
        continue;
      }
      const models = Array.isArray(osSpec.model)
        ? osSpec.model.filter((m): m is string => typeof m === 'string')
        : undefined;
      for (const [authority, task] of Object.entries(osSpec.certificate_authority)) {
        const driver = typeof task === 'string' ? driverForTask(task) : undefined;
        if (!driver) {
          problems.push({
            item: `platform ${platform} os ${version} ${authority}`,
            message: `task "${String(task)}" does not name a supported platform (panos, f5, lighthouse, linux); skipped`,
          });
          continue;
        }
        let name = slug(`${platformKey(platform)}-${version}-${authorityKey(authority)}`);
        for (let n = 2; names.has(name); n++)
          name = slug(`${platformKey(platform)}-${version}-${authorityKey(authority)}-${n}`);
        names.add(name);
        const route: Route = {
          name,
          match: {
            host_platform: platformKey(platform),
            os_version: version.toLowerCase(),
            certificate_authority: authorityKey(authority),
          },
          platform: driver,
        };
        if (models && models.length > 0) route.match.device_model = models;
        routes.push(route);
      }
    }
  }
  return routes;
}

/** Plain values from DynamoDB's typed JSON ({"S": …}, {"N": …}, {"BOOL": …}, {"L": […]}, {"SS": […]}, {"M": {…}}). */
export function unmarshal(value: unknown): unknown {
  if (!isObject(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 1) return value;
  const [type] = keys as [string];
  const inner = value[type];
  switch (type) {
    case 'S':
      return inner;
    case 'N':
      return Number(inner);
    case 'BOOL':
      return inner;
    case 'NULL':
      return null;
    case 'SS':
    case 'NS':
      return Array.isArray(inner) ? inner.map((v) => (type === 'NS' ? Number(v) : v)) : inner;
    case 'L':
      return Array.isArray(inner) ? inner.map(unmarshal) : inner;
    case 'M':
      return isObject(inner) ? unmarshalItem(inner) : inner;
    default:
      return value;
  }
}

export function unmarshalItem(item: Record<string, unknown>): Record<string, unknown> {
  const typed = Object.values(item).some(
    (v) =>
      isObject(v) && Object.keys(v).length === 1 && /^(S|N|BOOL|NULL|SS|NS|L|M)$/.test(Object.keys(v)[0]!),
  );
  if (!typed) return item;
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, unmarshal(v)]));
}

/**
 * The items of an export, in any of the shapes DynamoDB produces: `aws dynamodb scan` output
 * (`{"Items": [...]}`), an export to S3 (one `{"Item": {...}}` per line), or a plain array.
 */
export function exportItems(text: string): Record<string, unknown>[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (
    trimmed.startsWith('[') ||
    /^\{\s*"(Items|Count|ScannedCount)"/.test(trimmed) ||
    !trimmed.includes('\n')
  ) {
    const parsed: unknown = JSON.parse(trimmed);
    const list = Array.isArray(parsed)
      ? parsed
      : isObject(parsed) && Array.isArray(parsed.Items)
        ? parsed.Items
        : [parsed];
    return list
      .map((item) => (isObject(item) && isObject(item.Item) ? item.Item : item))
      .filter(isObject)
      .map(unmarshalItem);
  }
  return trimmed
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown)
    .map((item) => (isObject(item) && isObject(item.Item) ? item.Item : item))
    .filter(isObject)
    .map(unmarshalItem);
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' || value === 'None' ? undefined : value.trim();
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Ottr stored naive ISO strings in UTC; normalise to `2026-01-02T03:04:05Z`. */
export function normaliseExpiry(value: string): string | undefined {
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(value);
  const ms = Date.parse(hasZone ? value : `${value.replace(' ', 'T')}Z`);
  if (Number.isNaN(ms)) return undefined;
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function bool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return undefined;
}

/** One Ottr asset item → a device, or a problem. `driverFor` says which driver the converted routes pick. */
export function convertItem(
  item: Record<string, unknown>,
  position: number,
  driverFor: (device: Device) => string | undefined,
  problems: ImportProblem[],
): Device | undefined {
  const rawName = text(item.system_name);
  const label = rawName ?? `item #${position + 1}`;
  const fail = (message: string) => {
    problems.push({ item: label, message });
    return undefined;
  };
  if (!rawName) return fail('has no system_name; skipped');
  const system_name = rawName.toLowerCase();
  if (!NAME.test(system_name))
    return fail(`system_name "${rawName}" cannot be a file name ([a-z0-9][a-z0-9._-]{0,62}); skipped`);
  const dc = text(item.data_center)?.toLowerCase();
  if (!dc) return fail('has no data_center; skipped');
  if (!NAME.test(dc)) return fail(`data_center "${dc}" cannot be a folder name; skipped`);
  const commonName = (text(item.common_name) ?? system_name).toLowerCase();
  const cnProblem = dnsNameProblem(commonName);
  if (cnProblem) return fail(`common_name "${commonName}" ${cnProblem}; skipped`);
  for (const field of ['host_platform', 'os_version', 'certificate_authority'] as const) {
    if (!text(item[field])) return fail(`has no ${field}; skipped`);
  }

  const device: Device = {
    system_name,
    common_name: commonName,
    host_platform: platformKey(text(item.host_platform)!),
    os_version: text(item.os_version)!,
    data_center: dc,
    certificate_authority: authorityKey(text(item.certificate_authority)!),
  };
  const rawSans = item.subject_alternative_name;
  const sans = (Array.isArray(rawSans) ? rawSans : typeof rawSans === 'string' ? rawSans.split(',') : [])
    .map((name) => String(name).trim().toLowerCase())
    .filter((name) => name !== '' && name !== commonName);
  const unique = [...new Set(sans)];
  if (unique.length > 0) device.subject_alternative_names = unique;
  const model = text(item.device_model);
  if (model) device.device_model = model;
  const ip = text(item.ip_address);
  if (ip) device.ip_address = ip;
  const validation = bool(item.certificate_validation);
  if (validation === false) device.certificate_validation = false;
  const origin = text(item.origin);
  if (origin) device.labels = { origin };

  const driver = driverFor(device);
  const connection: Connection = {};
  if (driver === 'linux-ssm') {
    connection.instance_tag = { key: 'Name', value: system_name };
    problems.push({
      item: label,
      message: 'linux-ssm: check connection.instance_tag (assumed tag Name = system_name)',
    });
  } else if (driver) {
    connection.credentials = DEFAULT_CREDENTIALS[driver]!;
  }
  if (driver === 'linux-ssh') {
    problems.push({
      item: label,
      message: 'linux-ssh: add connection.ssh_host_key (the importer cannot know the host key)',
    });
  }
  if (validation === false && driver && driver !== 'linux-ssh' && driver !== 'linux-ssm') {
    problems.push({
      item: label,
      message: 'certificate_validation is False: pin the management key with connection.tls_spki_sha256',
    });
  }
  if (!driver)
    problems.push({
      item: label,
      message: 'no converted routing rule matches it; add a rule or fix the device',
    });
  if (Object.keys(connection).length > 0) device.connection = connection;

  const expiryText = text(item.certificate_expiration);
  if (expiryText) {
    const notAfter = normaliseExpiry(expiryText);
    if (notAfter) device.certificate = { not_after: notAfter };
    else
      problems.push({
        item: label,
        message: `certificate_expiration "${expiryText}" is not a date; left out (the device will be due)`,
      });
  }
  return device;
}

/** Converts Ottr's route.json and asset items into routing rules and devices. */
export function convertOttr(
  routeJson: unknown,
  items: readonly Record<string, unknown>[],
  route: (routes: Route[]) => (device: Device) => string | undefined,
): OttrImport {
  const problems: ImportProblem[] = [];
  const routes = convertRoutes(routeJson, problems);
  const driverFor = route(routes);
  const devices: Device[] = [];
  const seen = new Set<string>();
  items.forEach((item, position) => {
    const device = convertItem(item, position, driverFor, problems);
    if (!device) return;
    if (seen.has(device.system_name)) {
      problems.push({ item: device.system_name, message: 'appears twice in the export; the first is kept' });
      return;
    }
    seen.add(device.system_name);
    devices.push(device);
  });
  return { routes, devices, problems };
}
