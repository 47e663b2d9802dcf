/**
 * Filling in a draft device: fields the flags left out are asked for on a terminal (with the values the
 * repository already knows as choices) or, without one, reported as missing. Which connection fields are
 * needed follows from the routing rule the device matches.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Device } from '../model/types.ts';
import { platformInfo } from '../platforms/registry.ts';
import { INVENTORY_DIR, type Repository } from '../repository/load.ts';
import { compileRoutes } from '../routing/match.ts';
import { answerProblem, authorityChoices, isRoutingFailure, ROUTING_FIELDS } from './checks.ts';
import {
  completeDevice,
  DEVICE_FIELDS,
  type DraftDevice,
  fieldValue,
  flagFor,
  getField,
  REQUIRED_FIELDS,
  setField,
  unsetField,
} from './fields.ts';
import { SPKI_HELP, SSH_HOST_KEY_HELP } from './hints.ts';
import type { Prompter, Question } from './prompt.ts';
import { checkProposal, deviceFilePath, renderProposedDevice } from './proposal.ts';

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
  /** The device's file may exist (--force): otherwise a system_name whose file exists is asked again. */
  overwrite?: boolean;
  /** Where explanations before a question go. */
  say?: (text: string) => void;
}

/** No authority's key policy can be met by the device's platform: there is no answer to ask for. */
export class NoAuthorityError extends Error {
  override name = 'NoAuthorityError';
}

interface Session {
  repository: Repository;
  draft: DraftDevice;
  known: KnownValues;
  prompter: Prompter;
  say: (text: string) => void;
  overwrite: boolean;
}

/** Why the file the draft (with `field` answered) would be written to cannot be, or undefined. */
function takenFile(session: Session, field: string, answer: string): string | undefined {
  if (session.overwrite || (field !== 'system_name' && field !== 'data_center')) return undefined;
  const names = {
    system_name: session.draft.system_name,
    data_center: session.draft.data_center,
    [field]: answer,
  };
  if (names.system_name === undefined || names.data_center === undefined) return undefined;
  const file = deviceFilePath(names as { system_name: string; data_center: string });
  return existsSync(join(session.repository.root, file))
    ? `${file} already exists (--force overwrites it)`
    : undefined;
}

function question(session: Session, field: string, optional = false): Question {
  const { repository, draft, known } = session;
  const q: Question = {
    label: field,
    check: (answer) => answerProblem(repository, draft, field, answer) ?? takenFile(session, field, answer),
  };
  if (optional) q.optional = true;
  if (field === 'data_center') q.choices = known.dataCenters;
  if (field === 'certificate_authority') {
    const { offered, refused } = authorityChoices(repository, draft);
    if (offered.length === 0 && refused.length > 0)
      throw new NoAuthorityError(
        `no authority in routing/settings.yaml can issue for this device: ${refused.map((r) => r.reason).join('; ')}`,
      );
    for (const { authority, reason } of refused) session.say(`  not offered: ${authority}: ${reason}\n`);
    q.choices = offered;
    q.closed = offered.length > 0;
  }
  if (field === 'host_platform') {
    q.choices = known.hostPlatforms;
    q.closed = known.hostPlatformsClosed;
  }
  if (field === 'device_model' && draft.host_platform) q.choices = known.deviceModels(draft.host_platform);
  if (field === 'subject_alternative_names') q.label = 'subject_alternative_names (comma separated)';
  if (field === 'ip_address') q.label = 'ip_address (else common_name is resolved)';
  return q;
}

async function askField(session: Session, field: string, q: Question): Promise<void> {
  const answer = await session.prompter.ask(q);
  const spec = DEVICE_FIELDS.find((f) => f.field === field)!;
  if (answer === undefined) {
    unsetField(session.draft, field);
    return;
  }
  setField(session.draft, field, fieldValue(spec, answer));
}

const OPTIONAL_ASKED: Readonly<Record<string, readonly string[]>> = {
  common_name: ['subject_alternative_names'],
  os_version: ['device_model'],
  data_center: ['ip_address'],
  certificate_authority: ['owner'],
};

/** Fields that are optional in a device file: a second answer may leave them out. */
const OPTIONAL_FIELDS = new Set(
  DEVICE_FIELDS.map((f) => f.field).filter((f) => !(REQUIRED_FIELDS as readonly string[]).includes(f)),
);

async function askConnectionFields(session: Session): Promise<void> {
  const { repository, draft } = session;
  for (const need of missingConnectionFields(repository, draft)) {
    if (need.hint) session.say(`${need.hint}\n`);
    const q = question(session, need.field);
    const platform = repository.routes ? compileRoutes(repository.routes)(draft as Device) : undefined;
    const fallback =
      need.field === 'connection.credentials' && platform?.matched
        ? platformInfo(platform.route.platform)?.aliases?.defaultCredentials
        : undefined;
    if (fallback) q.fallback = fallback;
    await askField(session, need.field, q);
  }
}

/** The field a problem of the proposed file is about, when a person can answer it again. */
function askableField(problemField: string): string | undefined {
  const field = problemField.replace(/\[\d+\].*$/, '');
  return DEVICE_FIELDS.some((f) => f.field === field && f.kind !== 'switch' && f.kind !== 'labels')
    ? field
    : undefined;
}

/** Rounds of "this field fails, answer it again" before the problems are left to the caller. */
const MAX_REVIEW_ROUNDS = 5;

/**
 * Checks the finished draft as `ottr validate` would and asks again for each field that fails (the settings may
 * refuse an answer only in combination: a name outside the data center's suffixes, a credential bound to another
 * data center), until the file is valid, nothing left can be asked, or after a few rounds.
 */
async function reviewDraft(session: Session): Promise<void> {
  const { repository, draft, say } = session;
  for (let round = 0; round < MAX_REVIEW_ROUNDS; round++) {
    const device = completeDevice(draft);
    if (!device) return;
    const checked = checkProposal(repository, deviceFilePath(device), renderProposedDevice(device));
    const failing = new Map<string, string>();
    const taken = takenFile(session, 'system_name', device.system_name);
    if (taken) failing.set('system_name', taken);
    for (const problem of checked.problems) {
      const field = problem.severity === 'error' ? askableField(problem.field) : undefined;
      if (field && !failing.has(field)) failing.set(field, problem.message);
    }
    if (failing.size === 0) return;
    for (const [field, message] of failing) {
      if (field.startsWith('connection.') && /is not used by/.test(message)) {
        unsetField(draft, field); // an answer for a platform the device no longer routes to
        say(`  ${field}: ${message}; left out\n`);
        continue;
      }
      const again = isRoutingFailure(message) ? [...ROUTING_FIELDS] : [field];
      say(`  ${field}: ${message}; answer ${again.length > 1 ? again.join(', ') : 'it'} again\n`);
      for (const asked of again)
        await askField(session, asked, question(session, asked, OPTIONAL_FIELDS.has(asked)));
    }
    await askConnectionFields(session);
  }
}

/**
 * Completes `draft` in place. With a prompter, every missing required field is asked for (and, when it had to
 * ask, the usual optional ones next to them; ip_address whenever it is not given), the connection fields the routing rule needs
 * follow, and a field the finished file fails on is asked again. Returns the fields still missing: without a
 * prompter, all of them.
 */
export async function completeDraft(
  repository: Repository,
  draft: DraftDevice,
  options: CompleteOptions = {},
): Promise<MissingField[]> {
  const known = knownValues(repository);
  const { prompter } = options;
  const say = options.say ?? (() => {});
  if (!prompter) {
    const missing: MissingField[] = REQUIRED_FIELDS.filter((f) => draft[f] === undefined).map((field) => ({
      field,
      flag: flagFor(field),
    }));
    return missing.length > 0 ? missing : missingConnectionFields(repository, draft);
  }
  const session: Session = { repository, draft, known, prompter, say, overwrite: options.overwrite === true };
  const asked = new Set<string>();
  const ask = async (field: string, optional = false) => {
    asked.add(field);
    await askField(session, field, question(session, field, optional));
  };
  for (const field of REQUIRED_FIELDS) {
    if (draft[field] !== undefined) continue;
    await ask(field);
    for (const optional of OPTIONAL_ASKED[field] ?? [])
      if (getField(draft, optional) === undefined) await ask(optional, true);
  }
  if (draft.ip_address === undefined && !asked.has('ip_address')) await ask('ip_address', true);
  await askConnectionFields(session);
  await reviewDraft(session);
  return [];
}
