/**
 * Filling in a draft device: fields the flags left out are asked for on a terminal (with the values the
 * repository already knows as choices) or, without one, reported as missing. Which connection fields are
 * needed follows from the routing rule the device matches.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dnsNameProblem } from '../model/dns-name.ts';
import { NAME_PATTERN } from '../model/names.ts';
import type { Device } from '../model/types.ts';
import { platformInfo } from '../platforms/registry.ts';
import { INVENTORY_DIR, type Repository } from '../repository/load.ts';
import { compileRoutes } from '../routing/match.ts';
import {
  DEVICE_FIELDS,
  type DraftDevice,
  fieldValue,
  flagFor,
  getField,
  REQUIRED_FIELDS,
  setField,
} from './fields.ts';
import { SPKI_HELP, SSH_HOST_KEY_HELP } from './hints.ts';
import type { Prompter, Question } from './prompt.ts';

export interface MissingField {
  field: string;
  flag: string;
  /** How to find the value, for fields a person has to look up (pins). */
  hint?: string;
}

/** Values the repository already uses, offered when asking. */
export interface KnownValues {
  dataCenters: string[];
  authorities: string[];
  hostPlatforms: string[];
  /** Every routing rule names a host_platform: no other value can be routed. */
  hostPlatformsClosed: boolean;
  deviceModels: (hostPlatform: string) => string[];
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

export function knownValues(repository: Repository): KnownValues {
  const routes = repository.routes ?? [];
  const folders = existsSync(join(repository.root, INVENTORY_DIR))
    ? readdirSync(join(repository.root, INVENTORY_DIR), { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
    : [];
  return {
    dataCenters: sorted([...folders, ...Object.keys(repository.settings?.runners.by_data_center ?? {})]),
    authorities: Object.keys(repository.settings?.authorities ?? {}),
    hostPlatforms: [
      ...new Set(routes.flatMap((r) => (r.match.host_platform ? [r.match.host_platform] : []))),
    ],
    hostPlatformsClosed: routes.length > 0 && routes.every((r) => r.match.host_platform !== undefined),
    deviceModels: (hostPlatform) =>
      sorted(
        routes
          .filter((r) => r.match.host_platform === undefined || r.match.host_platform === hostPlatform)
          .flatMap((r) => r.match.device_model ?? []),
      ),
  };
}

const SECRET_NAME = /^[A-Z][A-Z0-9_]{2,63}$/;
const CHECKS: Readonly<Record<string, (answer: string) => string | undefined>> = {
  system_name: (a) =>
    NAME_PATTERN.test(a)
      ? undefined
      : 'use lowercase letters, digits, . _ - (at most 63, a letter or digit first)',
  data_center: (a) =>
    NAME_PATTERN.test(a)
      ? undefined
      : 'use lowercase letters, digits, . _ - (at most 63, a letter or digit first)',
  common_name: (a) => {
    const problem = dnsNameProblem(a);
    return problem ? `"${a}" ${problem}` : undefined;
  },
  subject_alternative_names: (a) => {
    for (const name of a.split(/[\s,]+/).filter(Boolean)) {
      const problem = dnsNameProblem(name);
      if (problem) return `"${name}" ${problem}`;
    }
    return undefined;
  },
  'connection.credentials': (a) =>
    SECRET_NAME.test(a)
      ? undefined
      : 'the NAME of a secret: A-Z, 0-9 and _, starting with a letter (never the value)',
  'connection.ssh_host_key': (a) =>
    /^SHA256:[A-Za-z0-9+/]{43}=?$/.test(a)
      ? undefined
      : 'a fingerprint as ssh-keygen -lf prints it: SHA256:…',
  'connection.tls_spki_sha256': (a) =>
    /^[A-Za-z0-9+/]{43}=$/.test(a) ? undefined : 'base64 of a SHA-256 digest: 44 characters ending in =',
  'connection.instance_id': (a) =>
    /^(i|mi)-[0-9a-f]{8,17}$/.test(a) ? undefined : 'an instance id: i-… or mi-… (hex)',
};

/** The connection fields the device's routing rule needs that the draft lacks, with their hints. */
export function missingConnectionFields(repository: Repository, draft: DraftDevice): MissingField[] {
  if (!repository.routes || REQUIRED_FIELDS.some((f) => draft[f] === undefined)) return [];
  const device = draft as Device;
  const routed = compileRoutes(repository.routes)(device);
  const platform = routed.matched ? platformInfo(routed.route.platform) : undefined;
  if (!platform) return [];
  const connection = (device.connection ?? {}) as Record<string, unknown>;
  const missing: MissingField[] = [];
  const need = (key: string, hint?: string) => {
    if (connection[key] === undefined)
      missing.push({ field: `connection.${key}`, flag: flagFor(key), ...(hint ? { hint } : {}) });
  };
  for (const key of platform.connection.required)
    need(key, key === 'ssh_host_key' ? SSH_HOST_KEY_HELP(device) : undefined);
  if (platform.transport === 'ssm' && connection.instance_tag === undefined) need('instance_id');
  if (platform.transport === 'https' && device.certificate_validation === false)
    need('tls_spki_sha256', SPKI_HELP(device));
  return missing;
}

export interface CompleteOptions {
  /** Asks for what is missing; without it, missing fields are only reported. */
  prompter?: Prompter;
  /** Where explanations before a question go. */
  say?: (text: string) => void;
}

function question(field: string, known: KnownValues, draft: DraftDevice, optional = false): Question {
  const q: Question = { label: field };
  if (optional) q.optional = true;
  const check = CHECKS[field];
  if (check) q.check = check;
  if (field === 'data_center') q.choices = known.dataCenters;
  if (field === 'certificate_authority') {
    q.choices = known.authorities;
    q.closed = known.authorities.length > 0;
  }
  if (field === 'host_platform') {
    q.choices = known.hostPlatforms;
    q.closed = known.hostPlatformsClosed;
  }
  if (field === 'device_model' && draft.host_platform) q.choices = known.deviceModels(draft.host_platform);
  if (field === 'subject_alternative_names') q.label = 'subject_alternative_names (comma separated)';
  return q;
}

async function askField(prompter: Prompter, field: string, q: Question, draft: DraftDevice): Promise<void> {
  const answer = await prompter.ask(q);
  if (answer === undefined) return;
  const spec = DEVICE_FIELDS.find((f) => f.field === field)!;
  setField(draft, field, fieldValue(spec, answer));
}

const OPTIONAL_ASKED: Readonly<Record<string, readonly string[]>> = {
  common_name: ['subject_alternative_names'],
  os_version: ['device_model'],
  data_center: ['ip_address'],
  certificate_authority: ['owner'],
};

/**
 * Completes `draft` in place. With a prompter, every missing required field is asked for (and, when it had to
 * ask, the usual optional ones next to them); the connection fields the routing rule needs follow. Returns the
 * fields still missing: without a prompter, all of them.
 */
export async function completeDraft(
  repository: Repository,
  draft: DraftDevice,
  options: CompleteOptions = {},
): Promise<MissingField[]> {
  const known = knownValues(repository);
  const { prompter } = options;
  const say = options.say ?? (() => {});
  const missing: MissingField[] = [];
  for (const field of REQUIRED_FIELDS) {
    if (draft[field] !== undefined) continue;
    if (!prompter) {
      missing.push({ field, flag: flagFor(field) });
      continue;
    }
    await askField(prompter, field, question(field, known, draft), draft);
    for (const optional of OPTIONAL_ASKED[field] ?? []) {
      if (getField(draft, optional) === undefined)
        await askField(prompter, optional, question(optional, known, draft, true), draft);
    }
  }
  if (missing.length > 0) return missing;
  for (const need of missingConnectionFields(repository, draft)) {
    if (!prompter) {
      missing.push(need);
      continue;
    }
    if (need.hint) say(`${need.hint}\n`);
    const q = question(need.field, known, draft);
    const platform = repository.routes ? compileRoutes(repository.routes)(draft as Device) : undefined;
    const fallback =
      need.field === 'connection.credentials' && platform?.matched
        ? platformInfo(platform.route.platform)?.aliases?.defaultCredentials
        : undefined;
    if (fallback) q.fallback = fallback;
    await askField(prompter, need.field, q, draft);
  }
  return missing;
}
