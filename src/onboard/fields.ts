/** The device fields `ottr onboard` takes as flags, and how a flag's text becomes a field's value. */

import type { Connection, Device } from '../model/types.ts';
import { UsageError } from '../util/usage-error.ts';

/** A device under construction: any field may still be missing. */
export type DraftDevice = Partial<Omit<Device, 'connection'>> & { connection?: Connection };

type Kind =
  /** A string. */
  | 'text'
  /** A list of names: the flag repeats and each value may be a comma list. */
  | 'names'
  /** A TCP port. */
  | 'port'
  /** `true` or `false`. */
  | 'boolean'
  /** A flag without a value. */
  | 'switch'
  /** `KEY=VALUE`. */
  | 'pair'
  /** `KEY=VALUE`, repeatable. */
  | 'labels';

export interface DeviceField {
  flag: string;
  /** The field in the device file: a top-level key, or `connection.<key>`. */
  field: string;
  kind: Kind;
  help: string;
}

export const DEVICE_FIELDS: readonly DeviceField[] = [
  { flag: 'system-name', field: 'system_name', kind: 'text', help: 'unique id, also the file name' },
  { flag: 'common-name', field: 'common_name', kind: 'text', help: 'the DNS name the certificate is for' },
  {
    flag: 'san',
    field: 'subject_alternative_names',
    kind: 'names',
    help: 'more names (repeat the flag or use a comma list)',
  },
  { flag: 'host-platform', field: 'host_platform', kind: 'text', help: 'panos, f5, lighthouse, linux, …' },
  { flag: 'os-version', field: 'os_version', kind: 'text', help: 'e.g. 10.2.4' },
  { flag: 'device-model', field: 'device_model', kind: 'text', help: 'e.g. PA-3220, ec2' },
  { flag: 'data-center', field: 'data_center', kind: 'text', help: 'picks the runners; the folder name' },
  { flag: 'ip-address', field: 'ip_address', kind: 'text', help: 'where to connect (else common_name)' },
  {
    flag: 'certificate-authority',
    field: 'certificate_authority',
    kind: 'text',
    help: 'a key of authorities in settings',
  },
  {
    flag: 'certificate-validation',
    field: 'certificate_validation',
    kind: 'boolean',
    help: 'false: pin the management key instead',
  },
  { flag: 'credentials', field: 'connection.credentials', kind: 'text', help: 'the NAME of the secret' },
  {
    flag: 'passphrase-credentials',
    field: 'connection.passphrase_credentials',
    kind: 'text',
    help: 'linux-ssh: NAME of the key passphrase secret',
  },
  { flag: 'port', field: 'connection.port', kind: 'port', help: 'management port (HTTPS API or SSH)' },
  { flag: 'tls-port', field: 'connection.tls_port', kind: 'port', help: 'where the certificate is served' },
  { flag: 'username', field: 'connection.username', kind: 'text', help: 'login user' },
  {
    flag: 'ssh-host-key',
    field: 'connection.ssh_host_key',
    kind: 'text',
    help: 'linux-ssh: SHA256:… host key fingerprint',
  },
  {
    flag: 'tls-spki-sha256',
    field: 'connection.tls_spki_sha256',
    kind: 'text',
    help: 'pin of the management TLS key',
  },
  { flag: 'sudo', field: 'connection.sudo', kind: 'switch', help: 'linux: run the file steps with sudo' },
  { flag: 'instance-id', field: 'connection.instance_id', kind: 'text', help: 'linux-ssm: i-… or mi-…' },
  {
    flag: 'instance-tag',
    field: 'connection.instance_tag',
    kind: 'pair',
    help: 'linux-ssm: KEY=VALUE of a tag instead of an id',
  },
  { flag: 'region', field: 'connection.region', kind: 'text', help: 'linux-ssm: AWS region' },
  { flag: 'owner', field: 'owner', kind: 'text', help: 'team, person or e-mail' },
  { flag: 'label', field: 'labels', kind: 'labels', help: 'KEY=VALUE (repeatable)' },
];

/** The fields every device file needs (schemas/device.schema.json `required`). */
export const REQUIRED_FIELDS = [
  'system_name',
  'common_name',
  'host_platform',
  'os_version',
  'data_center',
  'certificate_authority',
] as const;

/** The flag that sets a field (`connection.ssh_host_key` → `--ssh-host-key`). */
export function flagFor(field: string): string {
  const spec = DEVICE_FIELDS.find((f) => f.field === field || f.field === `connection.${field}`);
  return `--${spec?.flag ?? field.replace(/_/g, '-')}`;
}

type FlagOption = { type: 'string'; multiple?: true } | { type: 'boolean' };

/** The parseArgs options for every device field. */
export function deviceFlagOptions(): Record<string, FlagOption> {
  const options: Record<string, FlagOption> = {};
  for (const spec of DEVICE_FIELDS) {
    if (spec.kind === 'switch') options[spec.flag] = { type: 'boolean' };
    else if (spec.kind === 'names' || spec.kind === 'labels')
      options[spec.flag] = { type: 'string', multiple: true };
    else options[spec.flag] = { type: 'string' };
  }
  return options;
}

/** `--system-name TEXT` lines for --help. */
export function deviceFlagHelp(): string {
  const shown = DEVICE_FIELDS.map((spec) => {
    const value: Record<Kind, string> = {
      text: ' TEXT',
      names: ' NAMES',
      port: ' PORT',
      boolean: ' true|false',
      switch: '',
      pair: ' KEY=VALUE',
      labels: ' KEY=VALUE',
    };
    return [`--${spec.flag}${value[spec.kind]}`, spec.help] as const;
  });
  const width = Math.max(...shown.map(([flag]) => flag.length));
  return shown.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`).join('\n');
}

/** Splits `a,b c` into names. */
export function splitNames(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(/[\s,]+/)).filter(Boolean);
}

function pair(flag: string, value: string): [string, string] {
  const at = value.indexOf('=');
  if (at <= 0) throw new UsageError(`--${flag} takes KEY=VALUE (got "${value}")`);
  return [value.slice(0, at).trim(), value.slice(at + 1).trim()];
}

/** Sets `field` (top-level or `connection.<key>`) on a draft. */
export function setField(draft: DraftDevice, field: string, value: unknown): void {
  if (field.startsWith('connection.')) {
    draft.connection = { ...draft.connection, [field.slice('connection.'.length)]: value };
  } else {
    (draft as Record<string, unknown>)[field] = value;
  }
}

/** Removes a field (top-level or `connection.<key>`) from a draft. */
export function unsetField(draft: DraftDevice, field: string): void {
  if (field.startsWith('connection.')) {
    if (!draft.connection) return;
    const { [field.slice('connection.'.length)]: _removed, ...rest } = draft.connection as Record<
      string,
      unknown
    >;
    draft.connection = rest as Connection;
  } else {
    delete (draft as Record<string, unknown>)[field];
  }
}

/** Reads a field (top-level or `connection.<key>`) of a draft. */
export function getField(draft: DraftDevice, field: string): unknown {
  if (field.startsWith('connection.'))
    return (draft.connection as Record<string, unknown> | undefined)?.[field.slice('connection.'.length)];
  return (draft as Record<string, unknown>)[field];
}

/** Converts one field's answer text (a prompt's answer or a flag's value) to its value. */
export function fieldValue(spec: DeviceField, text: string): unknown {
  switch (spec.kind) {
    case 'port': {
      const port = Number(text);
      if (!/^\d+$/.test(text) || port < 1 || port > 65535)
        throw new UsageError(`--${spec.flag} must be a port number from 1 to 65535 (got "${text}")`);
      return port;
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower !== 'true' && lower !== 'false')
        throw new UsageError(`--${spec.flag} must be true or false (got "${text}")`);
      return lower === 'true';
    }
    case 'pair': {
      const [key, value] = pair(spec.flag, text);
      return { key, value };
    }
    case 'names':
      return splitNames([text]);
    default:
      return text;
  }
}

/** The draft device the flags describe; a malformed value is a UsageError naming its flag. */
export function draftFromFlags(values: Record<string, string | boolean | string[] | undefined>): DraftDevice {
  const draft: DraftDevice = {};
  for (const spec of DEVICE_FIELDS) {
    const raw = values[spec.flag];
    if (raw === undefined || raw === false) continue;
    if (spec.kind === 'switch') setField(draft, spec.field, true);
    else if (spec.kind === 'names') {
      const names = splitNames(raw as string[]);
      if (names.length > 0) setField(draft, spec.field, names);
    } else if (spec.kind === 'labels') {
      const labels: Record<string, string> = {};
      for (const entry of raw as string[]) {
        const [key, value] = pair(spec.flag, entry);
        labels[key] = value;
      }
      setField(draft, spec.field, labels);
    } else {
      const text = String(raw).trim();
      if (text === '') throw new UsageError(`--${spec.flag} is empty`);
      setField(draft, spec.field, fieldValue(spec, text));
    }
  }
  return draft;
}

/** The draft as a device, once every required field is there. */
export function completeDevice(draft: DraftDevice): Device | undefined {
  if (REQUIRED_FIELDS.some((f) => draft[f] === undefined)) return undefined;
  return draft as Device;
}
