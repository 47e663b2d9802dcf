import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import deviceSchema from '../../schemas/device.schema.json' with { type: 'json' };
import settingsSchema from '../../schemas/settings.schema.json' with { type: 'json' };
import { error, type Finding } from '../model/findings.ts';
import { BUILT_IN_PLATFORMS, type PlatformRegistry } from '../platforms/registry.ts';
import { didYouMean } from '../util/suggest.ts';
import { listMessage, type QuotableFinding, scalarTypeFinding, suggestField } from './hints.ts';
import { routesSchema } from './routes-schema.ts';

// ajv and ajv-formats are CommonJS; under NodeNext their default export is the module object.
const Ajv2020 = AjvModule.default;
const addFormats = formatsModule.default;

export type SchemaName = 'device' | 'routes' | 'settings';

const validators = new WeakMap<PlatformRegistry, Record<SchemaName, ValidateFunction>>();

/** The schemas compiled once per set of platforms: the routes schema's platform parts come from their manifests. */
function compiled(platforms: PlatformRegistry): Record<SchemaName, ValidateFunction> {
  let compiledSchemas = validators.get(platforms);
  if (!compiledSchemas) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true, allowUnionTypes: true });
    addFormats(ajv, ['date-time']);
    compiledSchemas = {
      device: ajv.compile(deviceSchema),
      routes: ajv.compile(routesSchema(platforms.all)),
      settings: ajv.compile(settingsSchema),
    };
    validators.set(platforms, compiledSchemas);
  }
  return compiledSchemas;
}

/**
 * Validates a parsed document against one of the schemas in schemas/ (routes: as rebuilt from `platforms`'
 * manifests); returns findings, never throws. A value YAML read as a number, boolean or null where a string
 * belongs comes back quotable: placeFindingsQuoting (hints.ts) quotes what the file says there.
 */
export function schemaFindings(
  schema: SchemaName,
  value: unknown,
  platforms: PlatformRegistry = BUILT_IN_PLATFORMS,
): QuotableFinding[] {
  const validate = compiled(platforms)[schema];
  if (validate(value)) return [];
  const findings: QuotableFinding[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    const finding = describe(e);
    if (!finding) continue;
    const key = `${finding.path.join('/')}|${finding.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(finding);
  }
  return findings;
}

function pathOf(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Fields whose values may be (mistakenly) secrets: their values are never repeated in a message. */
function isSensitive(path: readonly (string | number)[]): boolean {
  const last = String(path[path.length - 1] ?? '');
  return path.includes('connection') || /secret|credential|password|token|key$/i.test(last);
}

const PATTERN_HINTS: Record<string, string> = {
  system_name:
    'must be lowercase letters, digits, ".", "_" or "-", start with a letter or digit, at most 63 characters',
  data_center:
    'must be lowercase letters, digits, ".", "_" or "-", start with a letter or digit, at most 63 characters',
  name: 'must be lowercase letters, digits, ".", "_" or "-", start with a letter or digit, at most 63 characters',
  host_platform: 'must be lowercase letters, digits, "_" or "-" (e.g. panos, f5, lighthouse, linux)',
  certificate_authority:
    'must be an authority key from routing/settings.yaml: lowercase letters, digits, "_" or "-"',
  os_version: 'must be a version string like "10.2.4" (letters, digits, ".", "_", "+", "-")',
  ssh_host_key:
    'must be a host key fingerprint like SHA256:<43 base64 characters>, as printed by `ssh-keyscan HOST | ssh-keygen -lf -`',
  tls_spki_sha256:
    'must be the base64 SHA-256 of the public key (SubjectPublicKeyInfo): 44 characters ending in "="',
  instance_id: 'must be an SSM managed instance id like i-0123456789abcdef0 or mi-0123456789abcdef0',
  region: 'must be an AWS region like us-east-1',
  username: 'must be a login name: letters, digits, ".", "_" or "-", at most 32 characters',
  serial: 'must be the serial number in hexadecimal',
  sha256_fingerprint: 'must be 32 hex bytes, optionally separated by ":"',
  hosted_zone_id: 'must be a Route53 hosted zone id like Z0123456789ABCDEFGHIJ',
  directory: 'must be an https:// URL',
  staging_directory: 'must be an https:// URL',
  doh_url: 'must be an https:// URL',
};

const SECRET_HINT =
  'must be the NAME of a secret (uppercase letters, digits and _, 3 to 64 characters, e.g. PANOS_API_KEY), never the secret itself';

function typeName(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

function knownFields(schema: unknown): string[] {
  return Object.keys((schema as { properties?: object } | undefined)?.properties ?? {});
}

/** `hostname: …` where common_name is missing: the field written under another name. */
function renameHint(missing: string, e: ErrorObject): string {
  const data = e.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) return '';
  const known = knownFields(e.parentSchema);
  const written = Object.keys(data).find((k) => !known.includes(k) && suggestField(k, known) === missing);
  return written ? `; rename "${written}" to ${missing}` : '';
}

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = {
  yes: true,
  y: true,
  on: true,
  true: true,
  no: false,
  n: false,
  off: false,
  false: false,
};

/** A value of the wrong type, with the way to write it that the schema wants. */
function typeFinding(e: ErrorObject, path: (string | number)[]): Finding {
  const expected = (e.params as { type: string | string[] }).type;
  const wanted = Array.isArray(expected) ? expected.join(' or ') : expected;
  const sensitive = isSensitive(path);
  const data = e.data;
  if (wanted === 'string' && (typeof data === 'number' || typeof data === 'boolean' || data === null))
    return scalarTypeFinding(path, data, sensitive);
  const plain = `must be ${/^[aeiou]/.test(wanted) ? 'an' : 'a'} ${wanted}, found ${typeName(data)}`;
  if (typeof data === 'string') {
    const field = String(path.findLast((p) => typeof p === 'string') ?? '');
    if (wanted === 'array') return error(path, listMessage(field, data, sensitive), 'value');
    const word = BOOLEAN_WORDS[data.trim().toLowerCase()];
    if (wanted === 'boolean' && word !== undefined) {
      // Unquoted true/false (any case) is a boolean already, so these were written in quotes.
      const quoted = /^(true|false)$/i.test(data);
      const wrote = quoted
        ? `${JSON.stringify(data)} in quotes, which is a string`
        : `${data}, which YAML 1.2 reads as the string "${data}"`;
      return error(path, `must be a boolean; you wrote ${wrote}: write ${word}`, 'value');
    }
    if ((wanted === 'integer' || wanted === 'number') && data.trim() !== '' && Number.isFinite(Number(data)))
      return error(path, `${plain}; write ${sensitive ? 'the number' : data.trim()} without quotes`, 'value');
  }
  return error(path, plain, 'value');
}

function describe(e: ErrorObject): Finding | undefined {
  const path = pathOf(e.instancePath);
  const last = String(path[path.length - 1] ?? '');
  switch (e.keyword) {
    case 'if':
      return undefined; // the failing `then` branch reports the real problem
    case 'additionalProperties': {
      const field = (e.params as { additionalProperty: string }).additionalProperty;
      const known = knownFields(e.parentSchema);
      const where = path.length === 0 ? '' : ` in ${last}`;
      const list = known.length > 0 && known.length <= 12 ? ` (known: ${known.join(', ')})` : '';
      const meant = suggestField(field, known);
      return error(
        [...path, field],
        `unknown field "${field}"${where}${meant ? `; did you mean "${meant}"?` : list}`,
      );
    }
    case 'required': {
      const field = (e.params as { missingProperty: string }).missingProperty;
      return error(path, `missing required field "${field}"${renameHint(field, e)}`);
    }
    case 'type':
      return typeFinding(e, path);
    case 'pattern': {
      const secretField = /_secret$|credentials$/.test(last);
      const hint = secretField
        ? SECRET_HINT
        : (PATTERN_HINTS[last] ?? `must match the pattern ${(e.params as { pattern: string }).pattern}`);
      return error(path, hint, 'value');
    }
    case 'enum': {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : '';
      return error(path, `must be one of: ${allowed.join(', ')}${hint}`, 'value');
    }
    case 'const':
      return error(
        path,
        `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`,
        'value',
      );
    case 'format':
      if ((e.params as { format: string }).format === 'date-time') {
        return error(path, 'must be an RFC 3339 date-time in quotes, like "2026-01-31T12:00:00Z"', 'value');
      }
      return error(path, `must be a valid ${(e.params as { format: string }).format}`, 'value');
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return error(path, `must be ${e.message?.replace(/^must be /, '')}`, 'value');
    case 'minItems':
      return error(path, `must list at least ${(e.params as { limit: number }).limit} item(s)`, 'value');
    case 'maxItems':
      return error(path, `must list at most ${(e.params as { limit: number }).limit} items`, 'value');
    case 'minLength':
      return error(path, 'must not be empty', 'value');
    case 'maxLength':
      return error(path, `must be at most ${(e.params as { limit: number }).limit} characters`, 'value');
    case 'minProperties':
      return error(path, `must have at least ${(e.params as { limit: number }).limit} field(s)`, 'value');
    case 'propertyNames':
      return error(
        path,
        `has an invalid key "${String((e.params as { propertyName: string }).propertyName)}"`,
      );
    default:
      return error(path, e.message ?? `is invalid (${e.keyword})`, 'value');
  }
}
