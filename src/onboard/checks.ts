/**
 * Checking one field of a device being onboarded — a flag's value before anything is asked, or an answer before
 * the next question — with everything the draft and the repository already tell: the field's own form, the
 * schema, the authorities and their key policies, the data center's runners, networks and names, and, once the
 * draft is complete, the whole `ottr validate` check of the file it would become.
 */
import { BlockList, isIP } from 'node:net';
import { nameGrantProblem, parseCidr } from '../model/boundary.ts';
import { dnsNameProblem } from '../model/dns-name.ts';
import { NAME_PATTERN } from '../model/names.ts';
import { fieldPath } from '../model/problems.ts';
import type { Device } from '../model/types.ts';
import { BUILT_IN_PLATFORMS } from '../platforms/registry.ts';
import { deviceSemanticFindings } from '../repository/device-checks.ts';
import type { Repository } from '../repository/load.ts';
import { schemaFindings } from '../repository/schema.ts';
import { compileRoutes } from '../routing/match.ts';
import { didYouMean } from '../util/suggest.ts';
import { UsageError } from '../util/usage-error.ts';
import {
  DEVICE_FIELDS,
  type DraftDevice,
  fieldValue,
  getField,
  REQUIRED_FIELDS,
  setField,
} from './fields.ts';
import { checkProposal, deviceFilePath, renderProposedDevice } from './proposal.ts';

const SECRET_NAME = /^[A-Z][A-Z0-9_]{2,63}$/;
const NAME_RULE = 'use lowercase letters, digits, . _ - (at most 63, a letter or digit first)';

/** The form of an answer, in the words a prompt uses (before the schema's own messages). */
const FORM_CHECKS: Readonly<Record<string, (answer: string) => string | undefined>> = {
  system_name: (a) => (NAME_PATTERN.test(a) ? undefined : NAME_RULE),
  data_center: (a) => (NAME_PATTERN.test(a) ? undefined : NAME_RULE),
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

/** Routing depends on these (device_model is asked only together with os_version, so it is known by then). */
function routingKnown(draft: DraftDevice): boolean {
  return (
    draft.host_platform !== undefined && draft.os_version !== undefined && draft.data_center !== undefined
  );
}

/**
 * Why the platform the draft routes to cannot meet `authority`'s key policy (its `key.type` in
 * routing/settings.yaml against the key types the platform's devices generate), or undefined when it can or when
 * routing is not known yet.
 */
export function keyPolicyProblem(
  repository: Repository,
  draft: DraftDevice,
  authority: string,
): string | undefined {
  const keyType = repository.settings?.authorities[authority]?.key?.type;
  if (!keyType || !repository.routes || !routingKnown(draft)) return undefined;
  const routed = compileRoutes(repository.routes)({ ...draft, certificate_authority: authority } as Device);
  if (!routed.matched) return undefined; // the routing check says why
  const platform = (repository.platforms ?? BUILT_IN_PLATFORMS).get(routed.route.platform);
  if (!platform || platform.keyTypes.includes(keyType)) return undefined;
  const types = platform.keyTypes.map((t) => t.toUpperCase()).join('/');
  return `platform ${platform.name} (routing rule "${routed.route.name}") generates ${types} keys only, and authority "${authority}" requires ${keyType.toUpperCase()} (key.type in routing/settings.yaml)`;
}

/**
 * The authorities to offer for the draft: those whose key policy its platform can meet (and, once the rest of the
 * device is known, that its data center may use), and why the others are not.
 */
export function authorityChoices(
  repository: Repository,
  draft: DraftDevice,
): { offered: string[]; refused: { authority: string; reason: string }[] } {
  const offered: string[] = [];
  const refused: { authority: string; reason: string }[] = [];
  for (const authority of Object.keys(repository.settings?.authorities ?? {})) {
    const reason = valueProblem(repository, draft, 'certificate_authority', authority);
    if (reason) refused.push({ authority, reason });
    else offered.push(authority);
  }
  return { offered, refused };
}

/** Checks that need settings but not a complete device. */
function contextProblem(repository: Repository, draft: DraftDevice, field: string): string | undefined {
  const settings = repository.settings;
  if (!settings) return undefined;
  const dc = draft.data_center;
  const platforms = (repository.routes ?? []).map((r) => r.match.host_platform);
  if (
    field === 'host_platform' &&
    draft.host_platform !== undefined &&
    platforms.length > 0 &&
    !platforms.includes(undefined) &&
    !platforms.includes(draft.host_platform)
  ) {
    const named = [...new Set(platforms as string[])];
    return `"${draft.host_platform}" is not the host_platform of any routing rule${didYouMean(draft.host_platform, named) || ` (routing/routes.yaml routes: ${named.join(', ')})`}`;
  }
  if (field === 'certificate_authority' && draft.certificate_authority !== undefined) {
    const authority = draft.certificate_authority;
    const known = Object.keys(settings.authorities);
    if (!Object.hasOwn(settings.authorities, authority))
      return `"${authority}" is not an authority in routing/settings.yaml${didYouMean(authority, known) || ` (known: ${known.join(', ')})`}`;
    return keyPolicyProblem(repository, draft, authority);
  }
  if (
    field === 'data_center' &&
    dc !== undefined &&
    !Object.hasOwn(settings.runners.by_data_center ?? {}, dc)
  )
    return `"${dc}" has no runners: routing/settings.yaml lists runners for ${Object.keys(settings.runners.by_data_center ?? {}).join(', ')}`;
  if (dc === undefined) return undefined;
  if (field === 'ip_address' && draft.ip_address !== undefined) {
    const blocks =
      settings.networks && Object.hasOwn(settings.networks, dc) ? settings.networks[dc] : undefined;
    if (blocks && isIP(draft.ip_address) !== 0 && !blocks.some((block) => inBlock(draft.ip_address!, block)))
      return `${draft.ip_address} is outside the networks of data center ${dc} (networks.${dc}: ${blocks.join(', ')})`;
  }
  const names =
    field === 'common_name'
      ? [draft.common_name]
      : field === 'subject_alternative_names'
        ? (draft.subject_alternative_names ?? [])
        : [];
  for (const name of names) {
    if (name === undefined || dnsNameProblem(name)) continue;
    const problem = nameGrantProblem(settings, dc, name);
    if (problem) return `"${name}" ${problem}`;
  }
  return undefined;
}

function inBlock(address: string, block: string): boolean {
  const cidr = parseCidr(block);
  const family = isIP(address);
  if (!cidr || family === 0) return false;
  const list = new BlockList();
  list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  return list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

const about = (field: string) => (path: string) =>
  path === field || path.startsWith(`${field}[`) || path.startsWith(`${field}.`);

/**
 * Why `value` cannot be `field` of the draft, or undefined. The first problem found, in the order a person
 * fixes them: the form, the schema, the file's own rules, the repository's settings, then (when the draft is
 * complete) everything `ottr validate` would say about that field.
 */
export function valueProblem(
  repository: Repository,
  draft: DraftDevice,
  field: string,
  value: unknown,
): string | undefined {
  const form = FORM_CHECKS[field];
  if (form && typeof value === 'string') {
    const problem = form(value);
    if (problem) return problem;
  }
  const candidate: DraftDevice = structuredClone(draft);
  setField(candidate, field, value);
  const matches = about(field);
  const record = candidate as Record<string, unknown>;
  const file =
    typeof candidate.system_name === 'string' && typeof candidate.data_center === 'string'
      ? deviceFilePath(candidate as Device)
      : '';
  for (const finding of [...schemaFindings('device', record), ...deviceSemanticFindings(record, file)])
    if (finding.severity === 'error' && matches(fieldPath(finding.path))) return finding.message;
  const context = contextProblem(repository, candidate, field);
  if (context) return context;
  if (REQUIRED_FIELDS.some((f) => candidate[f] === undefined)) return undefined;
  const device = candidate as Device;
  const checked = checkProposal(repository, deviceFilePath(device), renderProposedDevice(device));
  // No rule matching is a fault of the combination, not of the one routing field being answered.
  const combination = (message: string) => ROUTING_FIELDS.has(field) && isRoutingFailure(message);
  return checked.problems.find((p) => p.severity === 'error' && matches(p.field) && !combination(p.message))
    ?.message;
}

/** The fields routing rules match on: together they pick the platform. */
export const ROUTING_FIELDS: ReadonlySet<string> = new Set(['host_platform', 'os_version', 'device_model']);

/** The message of a device no routing rule matches (reported at host_platform). */
export function isRoutingFailure(message: string): boolean {
  return message.startsWith('no routing rule matches');
}

/** Why an answer (the text typed, converted as its flag would be) cannot be `field`, or undefined. */
export function answerProblem(
  repository: Repository,
  draft: DraftDevice,
  field: string,
  answer: string,
): string | undefined {
  const spec = DEVICE_FIELDS.find((f) => f.field === field);
  if (!spec) return undefined;
  let value: unknown;
  try {
    value = fieldValue(spec, answer);
  } catch (error) {
    if (error instanceof UsageError) return error.message.replace(/^--[a-z0-9-]+ /, '');
    throw error;
  }
  return valueProblem(repository, draft, field, value);
}

/**
 * Every flag whose value cannot stand, as `--flag: why`, checked before anything is asked: what the other flags
 * and the repository tell is enough to refuse it.
 */
export function flagProblems(repository: Repository, draft: DraftDevice): string[] {
  const problems: string[] = [];
  for (const spec of DEVICE_FIELDS) {
    const value = getField(draft, spec.field);
    if (value === undefined) continue;
    const problem = valueProblem(repository, draft, spec.field, value);
    if (problem) problems.push(`--${spec.flag}: ${problem}`);
  }
  if (repository.routes && routingKnown(draft) && draft.certificate_authority !== undefined) {
    const routed = compileRoutes(repository.routes)(draft as Device);
    if (!routed.matched) problems.push(`--host-platform, --os-version, --device-model: ${routed.reason}`);
  }
  return problems;
}
