import { Document, isMap, isPair, isScalar, Scalar } from 'yaml';
import type { Device } from './types.ts';

export const DEVICE_SCHEMA_PATH = '../../schemas/device.schema.json';

/** Field order of a device file (the order of DESIGN.md's table). */
const ORDER: (keyof Device)[] = [
  'system_name',
  'common_name',
  'subject_alternative_names',
  'host_platform',
  'os_version',
  'device_model',
  'data_center',
  'ip_address',
  'certificate_authority',
  'certificate_validation',
  'connection',
  'owner',
  'labels',
  'certificate',
];

const COMMENTS: Partial<Record<keyof Device, string>> = {
  system_name: " unique id; equals this file's name",
  common_name: ' the name the certificate is for (always among its SANs)',
  host_platform: ' routing rules match on host_platform, os_version and device_model',
  data_center: ' picks the runners that can reach the device; equals the folder name',
  certificate_authority: ' a key of `authorities` in routing/settings.yaml',
  connection: ' credentials names a secret; it never holds the secret itself',
  certificate: ' written by automation after each rotation; do not edit by hand',
};

/** Strings that must stay strings whatever they look like (versions, dates, serials). */
const ALWAYS_QUOTED = new Set([
  'os_version',
  'not_after',
  'not_before',
  'rotated_at',
  'start',
  'end',
  'serial',
  'sha256_fingerprint',
  'ssh_host_key',
  'tls_spki_sha256',
]);

/**
 * A device file as text: the schema line first, fields in the documented order, values quoted wherever a
 * plain scalar could be read as something else, optional explanatory comments.
 */
export function renderDeviceYaml(
  device: Device,
  options: { schemaPath?: string; comments?: boolean } = {},
): string {
  const ordered: Record<string, unknown> = {};
  for (const key of ORDER) if (device[key] !== undefined) ordered[key] = device[key];
  const doc = new Document(ordered, { schema: 'core' });
  doc.commentBefore = ` yaml-language-server: $schema=${options.schemaPath ?? DEVICE_SCHEMA_PATH}`;
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const key = String(pair.key.value) as keyof Device;
      if (options.comments && COMMENTS[key]) (pair.key as Scalar).commentBefore = COMMENTS[key];
    }
  }
  quoteValuesOf(doc, ALWAYS_QUOTED);
  return doc.toString({ lineWidth: 0 });
}

/** Double-quotes every string value of the given keys, so versions and dates can never be read as numbers. */
export function quoteValuesOf(doc: Document, keys: ReadonlySet<string>): void {
  forceQuotes(doc.contents, undefined, keys);
}

function forceQuotes(node: unknown, key: string | undefined, keys: ReadonlySet<string>): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && isScalar(pair.key)) forceQuotes(pair.value, String(pair.key.value), keys);
    }
  } else if (
    node &&
    typeof node === 'object' &&
    'items' in node &&
    Array.isArray((node as { items: unknown[] }).items)
  ) {
    for (const item of (node as { items: unknown[] }).items) forceQuotes(item, undefined, keys);
  } else if (isScalar(node) && typeof node.value === 'string' && key !== undefined && keys.has(key)) {
    node.type = Scalar.QUOTE_DOUBLE;
  }
}
