/**
 * A device as the text of its file, inventory/<data_center>/<system_name>.yaml. Written with the `yaml` package's
 * document model, so quoting is always right: every string that YAML 1.2 or YAML 1.1 tools could read as
 * something else (`"10.2"`, `"0123"`, `"yes"`, `"on"`, `"12:30"`, dates) is quoted, and versions, dates,
 * serials and fingerprints are always quoted.
 */
import { Document, isMap, isPair, isScalar, isSeq, Scalar } from 'yaml';
import type { Device } from './types.ts';

/** Where device.schema.json is seen from inventory/<data_center>/<system_name>.yaml. */
export const DEVICE_SCHEMA_PATH = '../../schemas/device.schema.json';

export interface RenderDeviceOptions {
  /** The `$schema` path for yaml-language-server (default: DEVICE_SCHEMA_PATH). */
  schemaPath?: string;
  /** Put short explanatory `#` comments before the fields. */
  comments?: boolean;
}

/** Field order of a device file: the order of the `Device` interface (and of the README's "A device file" table). */
const ORDER: readonly (keyof Device)[] = [
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

const COMMENTS: Readonly<Record<string, string>> = {
  system_name: "unique id of the device; equals this file's name",
  common_name: 'the DNS name the certificate is issued for',
  subject_alternative_names: 'more names on the certificate; a wildcard only as the whole leftmost label',
  host_platform: 'routing/routes.yaml picks the driver from host_platform, os_version and device_model',
  os_version: 'always a quoted string: 10.2 without quotes would be a number',
  data_center: 'picks the runners that can reach the device; equals the folder name',
  ip_address: 'where to connect; without it, common_name is resolved',
  certificate_authority: 'a key of `authorities` in routing/settings.yaml',
  certificate_validation:
    'false: the current management certificate is not trusted yet; pin it with connection.tls_spki_sha256',
  connection: 'how to reach the device; secrets appear here by NAME only',
  certificate: 'written by automation after each rotation; do not edit by hand',
};

const CONNECTION_COMMENTS: Readonly<Record<string, string>> = {
  credentials: 'the NAME of a secret (e.g. a GitHub Actions secret), never the secret value itself',
  passphrase_credentials: 'the NAME of the secret holding the key passphrase, never its value',
  ssh_host_key: 'pinned host key fingerprint (ssh-keygen -lf); verify it out of band, no trust on first use',
  tls_spki_sha256: 'pin of the management TLS key: base64 SHA-256 of its SubjectPublicKeyInfo',
  instance_tag: 'exactly one Online SSM managed instance must carry this tag',
};

/** Strings that are always double-quoted, whatever they look like (versions, dates, serials, pins). */
const ALWAYS_QUOTED: ReadonlySet<string> = new Set([
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
 * The text of a device file: the yaml-language-server schema line first, then the fields in the documented
 * order (absent ones left out), optionally with explanatory comments. `parse(text)` gives back `device`.
 */
export function renderDeviceYaml(device: Device, options: RenderDeviceOptions = {}): string {
  const ordered: Record<string, unknown> = {};
  for (const key of ORDER) if (device[key] !== undefined) ordered[key] = device[key];
  // Fields this version does not know still round-trip, after the known ones.
  for (const [key, value] of Object.entries(device)) {
    if (!(key in ordered) && value !== undefined) ordered[key] = value;
  }
  // compat: quote whatever a YAML 1.1 reader (PyYAML, older tools) would take for a bool, number or date.
  const doc = new Document(ordered, { schema: 'core', compat: 'yaml-1.1' });
  doc.commentBefore = ` yaml-language-server: $schema=${options.schemaPath ?? DEVICE_SCHEMA_PATH}`;
  if (options.comments) {
    addComments(doc.contents, COMMENTS);
    if (isMap(doc.contents)) {
      const connection = doc.contents.get('connection', true);
      addComments(connection, CONNECTION_COMMENTS);
    }
  }
  quoteValuesOf(doc, ALWAYS_QUOTED);
  return doc.toString({ lineWidth: 0 });
}

function addComments(node: unknown, comments: Readonly<Record<string, string>>): void {
  if (!isMap(node)) return;
  for (const pair of node.items) {
    if (!isPair(pair) || !isScalar(pair.key)) continue;
    const comment = comments[String(pair.key.value)];
    if (comment) pair.key.commentBefore = ` ${comment}`;
  }
}

/** Double-quotes every string value of the given keys, at any depth, so versions and dates stay strings. */
export function quoteValuesOf(doc: Document, keys: ReadonlySet<string>): void {
  forceQuotes(doc.contents, undefined, keys);
}

function forceQuotes(node: unknown, key: string | undefined, keys: ReadonlySet<string>): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && isScalar(pair.key)) forceQuotes(pair.value, String(pair.key.value), keys);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) forceQuotes(item, key, keys);
  } else if (isScalar(node) && typeof node.value === 'string' && key !== undefined && keys.has(key)) {
    node.type = Scalar.QUOTE_DOUBLE;
  }
}
