/**
 * The trust boundary between the inventory (data contributed by pull requests) and routing/settings.yaml (owned by
 * the PKI admins): which secret a device may name, which names it may request, which data centers exist, which
 * SSM tags it may target. The same functions serve `ottr validate` and the run-time checks of rotation, so both
 * refuse exactly the same things.
 */
import { BlockList, isIP } from 'node:net';
import { dnsNameProblem } from './dns-name.ts';
import { error, type Finding, warning } from './findings.ts';
import type { Authority, Device, SecretPurpose, Settings } from './types.ts';

/** Where a secret is about to be used: by a device of a data center through a driver and a rule, or by a job. */
export interface SecretUse {
  purpose: SecretPurpose;
  dataCenter?: string;
  platform?: string;
  route?: string;
}

const PURPOSE_TEXT: Record<SecretPurpose, string> = {
  device_credential: 'a device credential',
  acme_account: 'an ACME account key',
  eab: 'an EAB value',
  notification: 'a notification secret',
  events: 'an events secret',
  github_app: 'the GitHub App key',
};

/**
 * Why `name` may not be used as `use` says, or undefined when settings grant it. Messages name the secret and
 * the grant, never a value.
 */
export function secretGrantProblem(settings: Settings, name: string, use: SecretUse): string | undefined {
  const declared = Object.hasOwn(settings.secrets ?? {}, name) ? settings.secrets[name] : undefined;
  if (!declared)
    return `the secret ${name} is not declared in routing/settings.yaml secrets; only declared secrets can be used`;
  if (declared.purpose !== use.purpose)
    return `the secret ${name} is declared as ${PURPOSE_TEXT[declared.purpose]} (purpose ${declared.purpose}), not ${PURPOSE_TEXT[use.purpose]}`;
  if (
    use.dataCenter !== undefined &&
    declared.data_centers &&
    !declared.data_centers.includes(use.dataCenter)
  )
    return `the secret ${name} is bound to data center${declared.data_centers.length > 1 ? 's' : ''} ${declared.data_centers.join(', ')}, not ${use.dataCenter}`;
  if (use.purpose === 'device_credential' && !declared.data_centers)
    return `the secret ${name} is bound to no data center (secrets.${name}.data_centers)`;
  if (use.platform !== undefined && declared.platforms && !declared.platforms.includes(use.platform))
    return `the secret ${name} is bound to platform${declared.platforms.length > 1 ? 's' : ''} ${declared.platforms.join(', ')}, not ${use.platform}`;
  if (use.route !== undefined && declared.routes && !declared.routes.includes(use.route))
    return `the secret ${name} is bound to routing rule${declared.routes.length > 1 ? 's' : ''} ${declared.routes.join(', ')}, not "${use.route}"`;
  return undefined;
}

/** The connection fields that name a secret, in the order a driver reads them. */
export const CREDENTIAL_FIELDS = ['credentials', 'passphrase_credentials'] as const;

/** The secrets an authority's account reads: its account key and, with EAB, the kid and HMAC. */
export function authoritySecrets(
  authority: Authority,
): { name: string; purpose: SecretPurpose; field: string[] }[] {
  return [
    { name: authority.account_key_secret, purpose: 'acme_account', field: ['account_key_secret'] },
    ...(authority.eab
      ? [
          { name: authority.eab.kid_secret, purpose: 'eab' as const, field: ['eab', 'kid_secret'] },
          { name: authority.eab.hmac_secret, purpose: 'eab' as const, field: ['eab', 'hmac_secret'] },
        ]
      : []),
  ];
}

/** One secret a device's rotation would read that settings do not grant it. */
export interface SecretRefusal {
  path: string[];
  /** The secret comes from the device's authority (not from its connection). */
  viaAuthority: boolean;
  /** Whether settings declare the secret at all. */
  declared: boolean;
  message: string;
}

/**
 * Every secret a device's rotation would read — its connection's credentials and its authority's account
 * secrets — that settings do not grant to its data center (and, for credentials, its platform and rule). The one
 * check behind `ottr validate` and the run-time refusal of the rotation.
 */
export function deviceSecretRefusals(
  settings: Settings,
  device: Device,
  route: { name: string; platform: string } | undefined,
): SecretRefusal[] {
  const refusals: SecretRefusal[] = [];
  const declared = (name: string) => Object.hasOwn(settings.secrets ?? {}, name);
  for (const field of CREDENTIAL_FIELDS) {
    const name = device.connection?.[field];
    if (name === undefined) continue;
    const problem = secretGrantProblem(settings, name, {
      purpose: 'device_credential',
      dataCenter: device.data_center,
      ...(route ? { platform: route.platform, route: route.name } : {}),
    });
    if (problem)
      refusals.push({
        path: ['connection', field],
        viaAuthority: false,
        declared: declared(name),
        message: problem,
      });
  }
  const authority = Object.hasOwn(settings.authorities, device.certificate_authority)
    ? settings.authorities[device.certificate_authority]
    : undefined;
  for (const use of authority ? authoritySecrets(authority) : []) {
    const problem = secretGrantProblem(settings, use.name, {
      purpose: use.purpose,
      dataCenter: device.data_center,
    });
    if (problem)
      refusals.push({
        path: ['certificate_authority'],
        viaAuthority: true,
        declared: declared(use.name),
        message: `authority "${device.certificate_authority}": ${problem}`,
      });
  }
  return refusals;
}

/** Whether `name` is within `suffix`: equal to it or below it. */
function under(name: string, suffix: string): boolean {
  return name === suffix || name.endsWith(`.${suffix}`);
}

/** Why a data center's devices may not request `name`, or undefined when settings.names allows it. */
export function nameGrantProblem(settings: Settings, dataCenter: string, name: string): string | undefined {
  const policy =
    settings.names && Object.hasOwn(settings.names, dataCenter) ? settings.names[dataCenter] : undefined;
  if (!policy)
    return `data center ${dataCenter} may request no names: routing/settings.yaml has no names.${dataCenter}`;
  const lower = name.toLowerCase();
  const wildcard = lower.startsWith('*.');
  if (wildcard && policy.wildcards !== true)
    return `is a wildcard, and names.${dataCenter}.wildcards does not allow wildcards in ${dataCenter}`;
  const base = wildcard ? lower.slice(2) : lower;
  if (!policy.suffixes.some((s) => under(base, s.toLowerCase().replace(/\.$/, ''))))
    return `is outside the names data center ${dataCenter} may request (names.${dataCenter}.suffixes: ${policy.suffixes.join(', ')})`;
  return undefined;
}

/** Every name of a device's certificate with the field path it is written at. */
export function deviceNames(device: Device): { name: string; path: (string | number)[] }[] {
  return [
    { name: device.common_name, path: ['common_name'] },
    ...(device.subject_alternative_names ?? []).map((name, i) => ({
      name,
      path: ['subject_alternative_names', i],
    })),
  ];
}

/**
 * The boundary checks of one device: its data center is declared, its secrets are granted to it, its names are
 * within its data center's suffixes, its SSM tag is one its data center may use. `route` is the matched rule.
 */
export function deviceBoundaryFindings(
  device: Device,
  settings: Settings,
  route: { name: string; platform: string } | undefined,
): Finding[] {
  const findings: Finding[] = [];
  const dc = device.data_center;
  const byDc = settings.runners.by_data_center ?? {};
  if (!Object.hasOwn(byDc, dc))
    findings.push(
      error(
        ['data_center'],
        `"${dc}" has no runners: add runners.by_data_center.${dc} in routing/settings.yaml (there is no default, so a device never runs where it was not meant to)`,
        'value',
      ),
    );
  const connection = device.connection ?? {};
  // An undeclared account key is reported once, in settings.yaml; here only a binding that excludes this device.
  for (const refusal of deviceSecretRefusals(settings, device, route))
    if (!refusal.viaAuthority || refusal.declared)
      findings.push(error(refusal.path, refusal.message, 'value'));
  for (const { name, path } of deviceNames(device)) {
    if (dnsNameProblem(name)) continue; // the name's own check reports it
    const problem = nameGrantProblem(settings, dc, name);
    if (problem) findings.push(error(path, `"${name}" ${problem}`, 'value'));
  }
  const address = device.ip_address;
  const blocks =
    settings.networks && Object.hasOwn(settings.networks, dc) ? settings.networks[dc] : undefined;
  if (
    address !== undefined &&
    blocks &&
    isIP(address) !== 0 &&
    !networkList(blocks).check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
  )
    findings.push(
      error(
        ['ip_address'],
        `${address} is outside the networks of data center ${dc} (networks.${dc}: ${blocks.join(', ')}); a device file cannot send its credential elsewhere`,
        'value',
      ),
    );
  const tag = connection.instance_tag;
  if (tag) {
    const tags = settings.ssm?.instance_tags;
    const allowed = tags && Object.hasOwn(tags, dc) ? (tags[dc] ?? []) : [];
    if (!allowed.some((a) => a.key === tag.key && (a.value === undefined || a.value === tag.value)))
      findings.push(
        error(
          ['connection', 'instance_tag'],
          allowed.length === 0
            ? `data center ${dc} may target no instance by tag: declare the tag in ssm.instance_tags.${dc} of routing/settings.yaml`
            : `tag ${tag.key}=${tag.value} is not one data center ${dc} may target (ssm.instance_tags.${dc}: ${allowed.map((a) => (a.value === undefined ? `${a.key}=*` : `${a.key}=${a.value}`)).join(', ')})`,
        ),
      );
  }
  return findings;
}

const networkLists = new Map<string, BlockList>();

/** A data center's CIDR blocks as a BlockList (cached: one per distinct list). */
function networkList(blocks: readonly string[]): BlockList {
  const key = blocks.join(',');
  let list = networkLists.get(key);
  if (!list) {
    list = new BlockList();
    for (const block of blocks) {
      const parsed = parseCidr(block);
      if (parsed) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
    networkLists.set(key, list);
  }
  return list;
}

/** `10.0.0.0/8` → its parts, or undefined when it is not a CIDR block. */
export function parseCidr(
  block: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const at = block.lastIndexOf('/');
  const address = block.slice(0, at);
  const digits = block.slice(at + 1);
  const version = isIP(address);
  // Digits only: Number('') is 0, so "10.0.0.0/" would be the whole address space (and "/0x18", "/1e1" parse).
  if (version === 0 || !/^\d{1,3}$/.test(digits)) return undefined;
  const prefix = Number(digits);
  if (prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Secrets that settings themselves name, with the purpose each must be declared with. */
export function settingsSecretUses(
  settings: Settings,
): { name: string; path: string[]; purpose: SecretPurpose }[] {
  const uses: { name: string; path: string[]; purpose: SecretPurpose }[] = [];
  for (const [key, authority] of Object.entries(settings.authorities))
    for (const use of authoritySecrets(authority))
      uses.push({ name: use.name, path: ['authorities', key, ...use.field], purpose: use.purpose });
  const slack = settings.notifications?.slack_webhook_secret;
  if (slack)
    uses.push({ name: slack, path: ['notifications', 'slack_webhook_secret'], purpose: 'notification' });
  for (const field of ['webhook_url_secret', 'webhook_signing_secret'] as const) {
    const name = settings.events?.[field];
    if (name) uses.push({ name, path: ['events', field], purpose: 'events' });
  }
  return uses;
}

/** Checks of the boundary blocks of settings.yaml beyond their schema. */
export function settingsBoundaryFindings(settings: Settings): Finding[] {
  const findings: Finding[] = [];
  for (const use of settingsSecretUses(settings)) {
    const problem = secretGrantProblem(settings, use.name, { purpose: use.purpose });
    if (problem) findings.push(error(use.path, problem, 'value'));
  }
  const dataCenters = new Set(Object.keys(settings.runners.by_data_center ?? {}));
  for (const [name, declared] of Object.entries(settings.secrets ?? {})) {
    const at = ['secrets', name];
    if (declared.purpose === 'device_credential' && !declared.data_centers)
      findings.push(error(at, 'a device credential must be bound to its data centers (data_centers: [...])'));
    if (declared.purpose !== 'device_credential')
      for (const field of ['platforms', 'routes'] as const)
        if (declared[field])
          findings.push(
            error([...at, field], `applies to device credentials only (purpose device_credential)`),
          );
    if (
      declared.purpose === 'notification' ||
      declared.purpose === 'events' ||
      declared.purpose === 'github_app'
    )
      if (declared.data_centers)
        findings.push(
          error(
            [...at, 'data_centers'],
            `a ${declared.purpose} secret goes to the report job only, never to a data center`,
          ),
        );
    (declared.data_centers ?? []).forEach((dc, i) => {
      if (!dataCenters.has(dc))
        findings.push(
          warning([...at, 'data_centers', i], `"${dc}" is not a data center of runners.by_data_center`),
        );
    });
  }
  for (const [dc, policy] of Object.entries(settings.names ?? {})) {
    policy.suffixes.forEach((suffix, i) => {
      const problem = dnsNameProblem(suffix.replace(/\.$/, ''));
      if (problem || suffix.startsWith('*'))
        findings.push(
          error(
            ['names', dc, 'suffixes', i],
            `"${suffix}" ${problem ?? 'must be a name, not a wildcard (wildcards: true allows them)'}`,
            'value',
          ),
        );
    });
  }
  for (const [dc, blocks] of Object.entries(settings.networks ?? {}))
    blocks.forEach((block, i) => {
      if (!parseCidr(block))
        findings.push(
          error(
            ['networks', dc, i],
            `"${block}" is not a CIDR block (e.g. 192.0.2.0/24 or 2001:db8::/32)`,
            'value',
          ),
        );
    });
  (settings.management_trust?.authorities ?? []).forEach((key, i) => {
    const authority = Object.hasOwn(settings.authorities, key) ? settings.authorities[key] : undefined;
    if (!authority)
      findings.push(
        error(
          ['management_trust', 'authorities', i],
          `"${key}" is not an authority in routing/settings.yaml`,
          'value',
        ),
      );
    else if (!authority.roots_file)
      findings.push(
        error(
          ['management_trust', 'authorities', i],
          `authority "${key}" has no roots_file; management trust needs the authority's roots named, never the public bundle`,
          'value',
        ),
      );
  });
  return findings;
}
