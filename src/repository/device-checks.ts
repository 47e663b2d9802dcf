import { MAX_DNS01_NAME, validationBase } from '../dns/alias.ts';
import { deviceBoundaryFindings } from '../model/boundary.ts';
import { dnsNameProblem, ipAddressProblem, MAX_NAMES_PER_CERTIFICATE } from '../model/dns-name.ts';
import { error, type Finding } from '../model/findings.ts';
import type { Device, Settings } from '../model/types.ts';
import { BUILT_IN_PLATFORMS, type PlatformRegistry } from '../platforms/registry.ts';
import type { RouteResult } from '../routing/match.ts';
import { didYouMean } from '../util/suggest.ts';

export interface DeviceCheckContext {
  settings: Settings | undefined;
  /** The platforms routes may name; absent → the built-in ones. */
  platforms?: PlatformRegistry;
  /** Undefined when routes.yaml itself is broken: routing is then not checked per device. */
  route: ((device: Device) => RouteResult) | undefined;
}

const str = (v: unknown): v is string => typeof v === 'string';

/** A valid DNS name can still be too long for DNS-01: `_acme-challenge.<name>` must fit in 253 characters. */
function nameProblem(name: string): string | undefined {
  const problem = dnsNameProblem(name);
  if (problem) return problem;
  const base = validationBase(name);
  if (base.length > MAX_DNS01_NAME) {
    return `is too long for DNS-01: _acme-challenge.${base.length > 30 ? '…' : base} would pass 253 characters (at most ${MAX_DNS01_NAME})`;
  }
  return undefined;
}

/** `inventory/<data_center>/<system_name>.yaml` → its parts, or undefined when the path has another shape. */
export function inventoryPathParts(file: string): { dataCenter: string; baseName: string } | undefined {
  const m = /^inventory\/([^/]+)\/([^/]+)\.yaml$/.exec(file);
  return m ? { dataCenter: m[1]!, baseName: m[2]! } : undefined;
}

/** Checks no schema can express: names, file placement, references into settings, the driver's needs. */
export function deviceSemanticFindings(value: Record<string, unknown>, file: string): Finding[] {
  const findings: Finding[] = [];
  const parts = inventoryPathParts(file);
  if (parts) {
    if (str(value.system_name) && value.system_name !== parts.baseName) {
      findings.push(
        error(
          ['system_name'],
          `must equal the file's base name "${parts.baseName}" (found "${value.system_name}")`,
          'value',
        ),
      );
    }
    if (str(value.data_center) && value.data_center !== parts.dataCenter) {
      findings.push(
        error(
          ['data_center'],
          `must equal the folder name "${parts.dataCenter}" (found "${value.data_center}")`,
          'value',
        ),
      );
    }
  }

  const seen = new Map<string, string>();
  if (str(value.common_name)) {
    const problem = nameProblem(value.common_name);
    if (problem) findings.push(error(['common_name'], `"${value.common_name}" ${problem}`, 'value'));
    seen.set(value.common_name.toLowerCase(), 'common_name');
  }
  const sans = value.subject_alternative_names;
  if (Array.isArray(sans)) {
    sans.forEach((name, i) => {
      if (!str(name)) return;
      const problem = nameProblem(name);
      if (problem) findings.push(error(['subject_alternative_names', i], `"${name}" ${problem}`, 'value'));
      const first = seen.get(name.toLowerCase());
      if (first === 'common_name') {
        findings.push(
          error(
            ['subject_alternative_names', i],
            `"${name}" repeats common_name, which is always included; remove it`,
            'value',
          ),
        );
      } else if (first) {
        findings.push(
          error(['subject_alternative_names', i], `"${name}" is listed twice (first at ${first})`, 'value'),
        );
      } else {
        seen.set(name.toLowerCase(), `subject_alternative_names[${i}]`);
      }
    });
    if (sans.length + 1 > MAX_NAMES_PER_CERTIFICATE) {
      findings.push(
        error(
          ['subject_alternative_names'],
          `a certificate holds at most ${MAX_NAMES_PER_CERTIFICATE} names (found ${sans.length + 1})`,
        ),
      );
    }
  }

  if (str(value.ip_address)) {
    const problem = ipAddressProblem(value.ip_address);
    if (problem) findings.push(error(['ip_address'], `"${value.ip_address}" ${problem}`, 'value'));
  }

  const cert = value.certificate as Record<string, unknown> | undefined;
  if (cert && typeof cert === 'object') {
    const before = str(cert.not_before) ? Date.parse(cert.not_before) : Number.NaN;
    const after = str(cert.not_after) ? Date.parse(cert.not_after) : Number.NaN;
    if (before >= after)
      findings.push(error(['certificate', 'not_before'], 'must be earlier than not_after', 'value'));
    const window = cert.renewal_window as Record<string, unknown> | undefined;
    if (
      window &&
      str(window.start) &&
      str(window.end) &&
      Date.parse(window.start) >= Date.parse(window.end)
    ) {
      findings.push(error(['certificate', 'renewal_window', 'start'], 'must be earlier than end', 'value'));
    }
  }
  return findings;
}

/** Checks that need settings and routes: the authority exists, a rule matches, the driver gets what it needs. */
export function deviceContextFindings(
  device: Device,
  context: DeviceCheckContext,
): { findings: Finding[]; route?: RouteResult } {
  const findings: Finding[] = [];
  const { settings } = context;
  if (settings && !Object.hasOwn(settings.authorities, device.certificate_authority)) {
    const known = Object.keys(settings.authorities);
    findings.push(
      error(
        ['certificate_authority'],
        `"${device.certificate_authority}" is not an authority in routing/settings.yaml${didYouMean(device.certificate_authority, known) || ` (known: ${known.join(', ')})`}`,
        'value',
      ),
    );
  }
  if (!context.route) {
    if (settings) findings.push(...deviceBoundaryFindings(device, settings, undefined));
    return { findings };
  }
  const route = context.route(device);
  if (settings)
    findings.push(...deviceBoundaryFindings(device, settings, route.matched ? route.route : undefined));
  if (!route.matched) {
    findings.push(error(['host_platform'], route.reason));
    return { findings, route };
  }
  const platform = (context.platforms ?? BUILT_IN_PLATFORMS).get(route.route.platform);
  if (!platform) return { findings, route };
  const via = `platform ${platform.name} (routing rule "${route.route.name}")`;
  const connection = (device.connection ?? {}) as Record<string, unknown>;
  for (const field of Object.keys(connection)) {
    if (!platform.connection.fields.includes(field)) {
      findings.push(
        error(
          ['connection', field],
          `is not used by ${via}; it reads: ${platform.connection.fields.join(', ')}`,
        ),
      );
    }
  }
  for (const field of platform.connection.required) {
    if (connection[field] === undefined) {
      const hint =
        field === 'ssh_host_key'
          ? ' (the host key is pinned; read it with `ssh-keyscan -p PORT HOST | ssh-keygen -lf -` from a trusted network)'
          : '';
      findings.push(
        error(device.connection ? ['connection'] : [], `${via} needs connection.${field}${hint}`),
      );
    }
  }
  const keyType = settings?.authorities[device.certificate_authority]?.key?.type;
  if (keyType && platform.keyTypes && !platform.keyTypes.includes(keyType)) {
    findings.push(
      error(
        ['certificate_authority'],
        `${via} generates ${platform.keyTypes.map((t) => t.toUpperCase()).join('/')} keys only, but authority "${device.certificate_authority}" requires ${keyType.toUpperCase()}; use an authority whose key policy allows it`,
        'value',
      ),
    );
  }
  if (
    platform.transport === 'ssm' &&
    (connection.instance_id === undefined) === (connection.instance_tag === undefined)
  ) {
    findings.push(
      error(
        device.connection ? ['connection'] : [],
        `${via} needs exactly one of connection.instance_id or connection.instance_tag`,
      ),
    );
  }
  if (
    platform.transport === 'https' &&
    device.certificate_validation === false &&
    connection.tls_spki_sha256 === undefined
  ) {
    findings.push(
      error(
        ['certificate_validation'],
        'is false, so the management certificate must be pinned with connection.tls_spki_sha256 (no trust on first use)',
      ),
    );
  }
  return { findings, route };
}
