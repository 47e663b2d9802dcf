import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { directoryFor } from '../acme/account.ts';
import { issueCertificate } from '../acme/issuance.ts';
import { delegateNameservers } from '../dns/nameservers.ts';
import { resolverFor } from '../dns/resolver.ts';
import { route53Provider } from '../dns/route53-provider.ts';
import { CREDENTIAL_FIELDS, deviceSecretRefusals } from '../model/boundary.ts';
import { type FailureClass, RESULT_SCHEMA, type RotationResult } from '../model/results.ts';
import type { Authority, Device, Settings } from '../model/types.ts';
import { OptionsError } from '../platforms/manifest.ts';
import { BUILT_IN_PLATFORMS } from '../platforms/registry.ts';
import type { DeviceRecord } from '../repository/device-file.ts';
import type { Repository } from '../repository/load.ts';
import type { SecretSource } from '../secrets/source.ts';
import { parseDuration } from '../util/duration.ts';
import { pemCertificates } from '../util/pem.ts';
import { type RotateOptions, rotateDevice } from './rotate-device.ts';

export interface RunOptions {
  /** The process environment, for the AWS SDK's endpoint settings only: secrets never come from here. */
  env: NodeJS.ProcessEnv;
  /** The only place secret values come from. */
  secrets: SecretSource;
  dryRun?: boolean;
  staging?: boolean;
  runUrl?: string;
  /** Progress lines: device, phase, message. */
  log(systemName: string, phase: string, message: string): void;
  /** Called with every secret value read and every token derived from one, so the caller can mask it. */
  onSecret?(value: string): void;
}

const normalise = (serial: string) => serial.toLowerCase().replace(/:/g, '').replace(/^0+/, '');

function failed(
  record: DeviceRecord,
  phase: string,
  errorClass: FailureClass,
  message: string,
): RotationResult {
  return {
    schema: RESULT_SCHEMA,
    system_name: record.system_name,
    status: 'failed',
    phases: [],
    error: { phase, class: errorClass, message },
  };
}

/** Rotates one device of a loaded repository; settings, secrets and DNS are wired here. Never throws. */
export async function rotateRecord(
  repository: Repository,
  record: DeviceRecord,
  options: RunOptions,
): Promise<RotationResult> {
  const settings = repository.settings;
  const device = record.device;
  if (!settings || !device || !record.route) {
    return failed(
      record,
      'precheck',
      'invalid',
      record.first_error ?? record.no_route ?? 'the device file or settings are invalid (ottr validate)',
    );
  }
  const route = repository.routes![record.route.index]!;
  const platform = (repository.platforms ?? BUILT_IN_PLATFORMS).get(route.platform);
  if (!platform)
    return failed(record, 'precheck', 'unsupported', `platform ${route.platform} has no driver yet`);
  let driverOptions: unknown;
  try {
    driverOptions = platform.options.parse(route.options);
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    return failed(record, 'precheck', 'invalid', `routing rule "${route.name}": ${error.message}`);
  }
  const driver = await platform.loadDriver();
  const authority = settings.authorities[device.certificate_authority]!;
  // Defence in depth: validation refused these already; a run-time grant check needs no trust in that code path.
  const refused = deviceSecretRefusals(settings, device, route);
  if (refused.length > 0)
    return failed(
      record,
      'precheck',
      'secret_refused',
      refused.map((r) => `${r.path.join('.')}: ${r.message}`).join('; '),
    );
  const { read, secret } = secretReaders(device, options.secrets, options.onSecret);
  const timeoutMs = parseDuration(settings.limits?.timeout ?? '15m') ?? 900_000;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const accountKeyPem = read(authority.account_key_secret);
    const directoryUrl = directoryFor(authority, options.staging ? { staging: true } : {});
    const rootsPem = authority.roots_file
      ? rootsFrom(repository.root, authority.roots_file)
      : [...rootCertificates];
    const managementRootsPem = managementRoots(repository.root, settings, device.certificate_authority);
    const nameservers = options.dryRun ? [] : await delegateNameservers(settings.dns);
    return await rotateDevice(device, route, {
      driver,
      driverOptions,
      key: authority.key ?? { type: 'ecdsa', curve: 'P-256' },
      rootsPem,
      managementRootsPem,
      ...(options.onSecret ? { mask: options.onSecret } : {}),
      ...(authority.expected_issuers ? { expectedIssuers: authority.expected_issuers } : {}),
      secret,
      signal,
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.runUrl ? { runUrl: options.runUrl } : {}),
      log: (phase, message) => options.log(device.system_name, phase, message),
      order: issuerFor(
        settings,
        device,
        { authority, directoryUrl, accountKeyPem, nameservers, signal },
        options,
      ),
    });
  } catch (error) {
    return failed(record, 'precheck', 'configuration', (error as Error).message);
  }
}

/** The order phase's issuer: issueCertificate bound to the device's authority, the run's ACME account and DNS. */
function issuerFor(
  settings: Settings,
  device: Device,
  bound: {
    authority: Authority;
    directoryUrl: string;
    accountKeyPem: string;
    nameservers: string[];
    signal: AbortSignal;
  },
  options: RunOptions,
): RotateOptions['order'] {
  const { authority, directoryUrl, accountKeyPem, nameservers, signal } = bound;
  // The SDK reads AWS_ENDPOINT_URL_ROUTE_53 from the process; passing it on honours the environment given.
  const endpoint = options.env.AWS_ENDPOINT_URL_ROUTE_53;
  const provider = route53Provider({
    hostedZoneId: settings.dns.hosted_zone_id,
    ...(endpoint ? { endpoint } : {}),
    log: (m) => options.log(device.system_name, 'order', m),
  });
  const propagation = settings.dns.propagation;
  return (csrPem, d, previous) =>
    issueCertificate({
      device: d,
      csrPem,
      authority,
      directoryUrl,
      accountKeyPem,
      signal,
      // `replaces` only for a certificate this inventory recorded: one from another CA would be refused.
      ...(authority.ari !== false &&
      previous?.ari_id &&
      normalise(previous.serial) === normalise(device.certificate?.serial ?? '')
        ? { replaces: previous.ari_id }
        : {}),
      dns: {
        provider,
        delegateZone: settings.dns.delegate_zone,
        nameservers,
        check: propagation?.check ?? 'authoritative',
        ...(propagation?.doh_url ? { dohUrl: propagation.doh_url } : {}),
        propagationTimeoutMs: parseDuration(propagation?.timeout ?? '5m') ?? 300_000,
        ...(settings.dns.alias?.check_cnames === false
          ? {}
          : { aliasResolver: resolverFor(settings.dns.resolvers) }),
      },
      log: (step, message) => options.log(device.system_name, step, message),
    });
}

/**
 * How a rotation reads secrets: `read` for the names settings bind to the run (the account key), `secret` for the
 * driver, which gets only the names the device's connection gives (credentials, passphrase_credentials).
 */
export function secretReaders(
  device: Device,
  source: SecretSource,
  onSecret?: (value: string) => void,
): { read(name: string): string; secret(name: string): string } {
  const credentialNames = new Set(
    CREDENTIAL_FIELDS.flatMap((field) => (device.connection?.[field] ? [device.connection[field]!] : [])),
  );
  const read = (name: string): string => {
    const value = source.get(name);
    if (!value) throw new Error(`the secret ${name} is not set (secrets come from ${source.description})`);
    onSecret?.(value);
    return value;
  };
  return {
    read,
    secret: (name) => {
      if (!credentialNames.has(name))
        throw new Error(
          `the driver asked for the secret ${name}, which this device's connection does not name`,
        );
      return read(name);
    },
  };
}

function rootsFrom(root: string, file: string): string[] {
  const roots = pemCertificates(readFileSync(join(root, file), 'utf8'));
  if (roots.length === 0) throw new Error(`${file} holds no PEM certificate`);
  return roots;
}

/**
 * The roots a management API's certificate may chain to when it is not pinned: the device's own authority's
 * roots_file and those settings.management_trust names. Never Node's public bundle.
 */
export function managementRoots(root: string, settings: Settings, authorityKey: string): string[] {
  const files = new Set<string>();
  const own = settings.authorities[authorityKey]?.roots_file;
  if (own) files.add(own);
  for (const key of settings.management_trust?.authorities ?? []) {
    const file = settings.authorities[key]?.roots_file;
    if (file) files.add(file);
  }
  for (const file of settings.management_trust?.roots_files ?? []) files.add(file);
  return [...files].flatMap((file) => rootsFrom(root, file));
}

/** Rotates several devices, `concurrency` at a time; one device's failure never stops the others. */
export async function rotateMany(
  repository: Repository,
  records: DeviceRecord[],
  concurrency: number,
  options: RunOptions,
  onResult: (result: RotationResult) => void,
): Promise<RotationResult[]> {
  const results: RotationResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, records.length)) }, async () => {
      while (next < records.length) {
        const record = records[next++]!;
        const result = await rotateRecord(repository, record, options);
        results.push(result);
        onResult(result);
      }
    }),
  );
  return results;
}
