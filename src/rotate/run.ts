import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { directoryFor } from '../acme/account.ts';
import { issueCertificate } from '../acme/issue.ts';
import { delegateNameservers } from '../dns/nameservers.ts';
import { resolverFor } from '../dns/resolver.ts';
import { route53Provider } from '../dns/route53-provider.ts';
import type { DeviceRecord } from '../model/device-file.ts';
import type { Repository } from '../model/repository.ts';
import { driverFor } from '../platforms/index.ts';
import { parseDuration } from '../util/duration.ts';
import { RESULT_SCHEMA, type RotationResult } from './result.ts';
import { rotateDevice } from './rotate-device.ts';

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  dryRun?: boolean;
  staging?: boolean;
  runUrl?: string;
  /** Progress lines: device, phase, message. */
  log(systemName: string, phase: string, message: string): void;
  /** Called with every secret value read, so the caller can mask it (core.setSecret under Actions). */
  onSecret?(value: string): void;
}

const normalise = (serial: string) => serial.toLowerCase().replace(/:/g, '').replace(/^0+/, '');

function failed(record: DeviceRecord, phase: string, errorClass: string, message: string): RotationResult {
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
  repo: Repository,
  record: DeviceRecord,
  options: RunOptions,
): Promise<RotationResult> {
  const settings = repo.settings;
  const device = record.device;
  if (!settings || !device || !record.route) {
    return failed(
      record,
      'precheck',
      'invalid',
      record.first_error ?? record.no_route ?? 'the device file or settings are invalid (ottr validate)',
    );
  }
  const route = repo.routes![record.route.index]!;
  const driver = driverFor(route.platform);
  if (!driver)
    return failed(record, 'precheck', 'unsupported', `platform ${route.platform} has no driver yet`);
  const authority = settings.authorities[device.certificate_authority]!;
  const secret = (name: string): string => {
    const value = options.env[name];
    if (!value) throw new Error(`the secret ${name} is not set`);
    options.onSecret?.(value);
    return value;
  };
  const timeoutMs = parseDuration(settings.limits?.timeout ?? '15m') ?? 900_000;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const accountKeyPem = secret(authority.account_key_secret);
    const directoryUrl = directoryFor(authority, options.staging ? { staging: true } : {});
    const rootsPem = authority.roots_file
      ? [readFileSync(join(repo.root, authority.roots_file), 'utf8')]
      : [...rootCertificates];
    const nameservers = options.dryRun ? [] : await delegateNameservers(settings.dns);
    // The SDK reads AWS_ENDPOINT_URL_ROUTE_53 from the process; passing it on honours the environment given.
    const endpoint = options.env.AWS_ENDPOINT_URL_ROUTE_53;
    const provider = route53Provider({
      hostedZoneId: settings.dns.hosted_zone_id,
      ...(endpoint ? { endpoint } : {}),
      log: (m) => options.log(device.system_name, 'order', m),
    });
    const propagation = settings.dns.propagation;
    return await rotateDevice(device, route, {
      driver,
      key: authority.key ?? { type: 'ecdsa', curve: 'P-256' },
      rootsPem,
      ...(authority.expected_issuers ? { expectedIssuers: authority.expected_issuers } : {}),
      secret,
      signal,
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.runUrl ? { runUrl: options.runUrl } : {}),
      log: (phase, message) => options.log(device.system_name, phase, message),
      issue: (csrPem, d, previous) =>
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
        }),
    });
  } catch (error) {
    return failed(record, 'precheck', 'configuration', (error as Error).message);
  }
}

/** Rotates several devices, `concurrency` at a time; one device's failure never stops the others. */
export async function rotateMany(
  repo: Repository,
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
        const result = await rotateRecord(repo, record, options);
        results.push(result);
        onResult(result);
      }
    }),
  );
  return results;
}
