import { randomBytes } from 'node:crypto';
import { ariCertificateId } from '../acme/ari.ts';
import { checkCsr, deviceNames } from '../acme/csr-policy.ts';
import { IssuanceError } from '../acme/errors.ts';
import type { IssuedCertificate } from '../acme/issue.ts';
import { RESULT_SCHEMA, type RotationResult } from '../model/results.ts';
import type { Device, KeyPolicy, Route } from '../model/types.ts';
import type { CsrRequest, DriverSession, InstallReceipt, PlatformDriver } from '../platforms/contract.ts';
import { sleep } from '../util/sleep.ts';
import { fetchServedChain, servedChainProblems } from '../verify/tls.ts';

export interface RotateOptions {
  driver: PlatformDriver;
  /** The route's options as the platform's manifest read them (PlatformManifest.options.parse). */
  driverOptions?: unknown;
  /** Turns the device's CSR into a chain (issueCertificate with the authority, account and DNS bound). */
  issue(
    csrPem: string,
    device: Device,
    previous: { serial: string; ari_id?: string } | undefined,
  ): Promise<IssuedCertificate>;
  /** The authority's roots, to verify the served chain. */
  rootsPem: string[];
  /** Roots a management API's certificate may chain to when it is not pinned (never the public bundle). */
  managementRootsPem?: string[];
  expectedIssuers?: string[];
  key: KeyPolicy;
  secret(name: string): string;
  /** Masks a token the driver derives from a credential (keygen API key, auth token, session), at once. */
  mask?(value: string): void;
  log?(phase: string, message: string): void;
  now?(): Date;
  dryRun?: boolean;
  runUrl?: string;
  /** How long verification waits for the device to serve the new certificate (reloads take a moment). */
  verifyTimeoutMs?: number;
  /** How long, after a rollback, the previous certificate has to be served again (default 30 s). */
  rollbackTimeoutMs?: number;
  signal?: AbortSignal;
  audit?(received: string): void;
}

/** A failure inside a phase, with the class the report shows. */
class PhaseError extends Error {
  constructor(
    readonly errorClass: string,
    message: string,
  ) {
    super(message);
  }
}

function rotationId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `ottr-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Handshakes in a row that must show the new certificate, and the pause between them. */
const VERIFY_CONSECUTIVE = 3;
const VERIFY_SPACING_MS = 150;

/**
 * Rotates one device through precheck → csr → order → install → verify → cleanup, rolling back when install
 * or verify fails and then checking that the previous certificate is served again. Never throws: every outcome
 * is a result.
 */
export async function rotateDevice(
  device: Device,
  route: Route,
  options: RotateOptions,
): Promise<RotationResult> {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => {});
  const result: RotationResult = {
    schema: RESULT_SCHEMA,
    system_name: device.system_name,
    status: 'failed',
    phases: [],
  };
  if (options.runUrl) result.run_url = options.runUrl;
  if (options.dryRun) result.dry_run = true;
  const names = deviceNames(device);
  const request: CsrRequest = { names, key: options.key, rotationId: rotationId(now()) };
  let phase = 'precheck';
  let session: DriverSession | undefined;
  let receipt: InstallReceipt | undefined;
  let issuedSerial: string | undefined;
  let csrMade = false;
  let previousAriId: string | undefined;
  const controller = new AbortController();
  options.signal?.addEventListener('abort', () => controller.abort(options.signal!.reason), { once: true });

  async function timed<T>(name: string, run: () => Promise<T>): Promise<T> {
    phase = name;
    const started = Date.now();
    log(name, 'started');
    try {
      return await run();
    } finally {
      result.phases.push({ name, ms: Date.now() - started });
    }
  }

  const fail = (errorClass: string, message: string) => {
    result.error = { phase, class: errorClass, message };
  };

  try {
    session = await timed('precheck', async () => {
      const s = await options.driver
        .connect({
          device,
          route,
          options: options.driverOptions ?? {},
          secret: options.secret,
          ...(options.mask ? { mask: options.mask } : {}),
          log: (m) => log(phase, m),
          signal: controller.signal,
          trustedRoots: options.managementRootsPem ?? [],
          ...(options.audit ? { audit: options.audit } : {}),
        })
        .catch((e: unknown) => {
          throw new PhaseError('device_unreachable', (e as Error).message);
        });
      await s.precheck().catch(async (e: unknown) => {
        // The session is not returned, so the finally below cannot close it.
        await s.close().catch(() => {});
        throw new PhaseError('precheck_failed', (e as Error).message);
      });
      const served = await fetchServedChain(s.tlsEndpoint(), 5000).catch(() => []);
      if (served[0]) {
        result.previous = {
          serial: served[0].serialNumber.toLowerCase(),
          not_after: new Date(served[0].validTo).toISOString(),
        };
        try {
          previousAriId = ariCertificateId(served[0].toString());
        } catch {
          // self-signed or without an authority key identifier: nothing to name in `replaces`
        }
      }
      return s;
    });

    const { pem: csrPem, spki } = await timed('csr', async () => {
      const pem = await session!.generateCsr(request).catch((e: unknown) => {
        throw new PhaseError(
          'device_error',
          `the device could not make a key and CSR: ${(e as Error).message}`,
        );
      });
      csrMade = true;
      const checked = await checkCsr(pem, device, options.key);
      if (!checked.ok) throw new PhaseError('csr_rejected', checked.problems.join('; '));
      return { pem, spki: checked.csr.spki };
    });

    if (options.dryRun) {
      result.status = 'skipped';
      await session.discard(request).catch(() => {});
      return result;
    }

    const previous = result.previous
      ? { serial: result.previous.serial, ...(previousAriId ? { ari_id: previousAriId } : {}) }
      : undefined;
    const issued = await timed('order', () => options.issue(csrPem, device, previous));
    issuedSerial = issued.serial.toLowerCase();
    if (issued.warnings?.length) result.warnings = [...(result.warnings ?? []), ...issued.warnings];

    receipt = await timed('install', async () => {
      const r = await session!.install(issued.chain_pem, request).catch((e: unknown) => {
        throw new PhaseError('install_failed', (e as Error).message);
      });
      receipt = r;
      await session!.activate(r).catch((e: unknown) => {
        throw new PhaseError('activate_failed', (e as Error).message);
      });
      return r;
    });

    await timed('verify', async () => {
      const deadline = Date.now() + (options.verifyTimeoutMs ?? 30_000);
      let problems: string[] = [];
      // A reload leaves old workers answering for a moment: only several good handshakes in a row count.
      let good = 0;
      for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
        const chain = await fetchServedChain(session!.tlsEndpoint(), 5000).catch((e: unknown) => {
          problems = [(e as Error).message];
          return undefined;
        });
        if (chain) {
          problems = servedChainProblems(chain, {
            serial: issued.serial,
            spki,
            names,
            rootsPem: options.rootsPem,
            notBefore: issued.not_before,
            notAfter: issued.not_after,
            ...(options.expectedIssuers ? { expectedIssuers: options.expectedIssuers } : {}),
          });
        }
        if (problems.length === 0) {
          if (++good >= VERIFY_CONSECUTIVE) return;
          await sleep(VERIFY_SPACING_MS);
          continue;
        }
        good = 0;
        if (Date.now() > deadline) throw new PhaseError('verify_failed', problems.join('; '));
        await sleep(delay);
      }
    });

    result.status = 'rotated';
    result.certificate = {
      not_before: issued.not_before,
      not_after: issued.not_after,
      serial: issued.serial,
      issuer: issued.issuer,
      sha256_fingerprint: issued.sha256_fingerprint,
      rotated_at: now().toISOString(),
      ...(issued.renewal_window ? { renewal_window: issued.renewal_window } : {}),
      pem: issued.chain_pem,
    };
    await timed('cleanup', () => session!.cleanup(receipt!)).catch((e: unknown) => {
      result.warnings = [
        ...(result.warnings ?? []),
        `the previous certificate could not be removed from the device: ${(e as Error).message}`,
      ];
    });
    return result;
  } catch (error) {
    if (error instanceof PhaseError) fail(error.errorClass, error.message);
    else if (error instanceof IssuanceError) {
      fail(error.errorClass, error.message);
      if (error.warnings.length > 0) result.warnings = [...(result.warnings ?? []), ...error.warnings];
    } else fail('internal', (error as Error).message);
    // A receipt exists from install on, and only install and verify can throw after it (cleanup's own failure
    // is a warning): whatever failed then, the device may be serving the new certificate.
    if (session && receipt) {
      const rollbackTimeoutMs = options.rollbackTimeoutMs ?? 30_000;
      await timed('rollback', () =>
        rollBack(session!, receipt!, result, issuedSerial, rollbackTimeoutMs),
      ).catch((e: unknown) => {
        result.rollback = { restored: false, message: `rollback failed: ${(e as Error).message}` };
      });
    } else if (session && csrMade && !receipt) {
      await session.discard(request).catch(() => {});
    }
    return result;
  } finally {
    await session?.close().catch(() => {});
  }
}

/**
 * Restores the previous certificate and checks it is served again. Without a previous certificate (none was
 * served at precheck) "restored" means the device serves something that is not the certificate just issued.
 */
async function rollBack(
  session: DriverSession,
  receipt: InstallReceipt,
  result: RotationResult,
  issuedSerial: string | undefined,
  timeoutMs: number,
): Promise<void> {
  await session.rollback(receipt);
  const expected = result.previous?.serial;
  const deadline = Date.now() + timeoutMs;
  let good = 0;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    const chain = await fetchServedChain(session.tlsEndpoint(), 5000).catch(() => []);
    const served = chain[0]?.serialNumber.toLowerCase();
    const ok = expected === undefined ? served !== undefined && served !== issuedSerial : served === expected;
    good = ok ? good + 1 : 0;
    if (ok && good < VERIFY_CONSECUTIVE) {
      await sleep(VERIFY_SPACING_MS);
      continue;
    }
    if (ok) {
      result.status = 'rolled_back';
      result.rollback = {
        restored: true,
        message: expected
          ? `the previous certificate (serial ${expected}) is served again`
          : `the device serves ${served}, not the new certificate (none was served before)`,
      };
      return;
    }
    if (Date.now() > deadline) {
      result.rollback = {
        restored: false,
        message: `after rollback the device serves ${served ?? 'nothing'}, not ${expected ?? 'its previous certificate'}`,
      };
      return;
    }
    await sleep(delay);
  }
}
