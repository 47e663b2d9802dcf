import { randomBytes } from 'node:crypto';
import { deviceNames } from '../acme/csr-policy.ts';
import type { IssuedCertificate } from '../acme/issuance.ts';
import { RESULT_SCHEMA, type RotationResult } from '../model/results.ts';
import type { Device, KeyPolicy, Route } from '../model/types.ts';
import type { PlatformDriver } from '../platforms/contract.ts';
import {
  cleanUp,
  installAndActivate,
  makeCsr,
  order,
  precheck,
  type Rotation,
  recordCertificate,
  recordFailure,
  timed,
  undo,
  verifyServed,
} from './phases.ts';

export interface RotateOptions {
  driver: PlatformDriver;
  /** The route's options as the platform's manifest read them (PlatformManifest.options.parse). */
  driverOptions?: unknown;
  /** The order phase: turns the device's CSR into a chain (issueCertificate with the authority, account and DNS bound). */
  order(
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

function rotationId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `ottr-${stamp}-${randomBytes(3).toString('hex')}`;
}

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
  const rotation = startRotation(device, route, options);
  try {
    await runPhases(rotation);
  } catch (error) {
    recordFailure(rotation, error);
    await undo(rotation);
  } finally {
    await rotation.session?.close().catch(() => {});
  }
  return rotation.result;
}

function startRotation(device: Device, route: Route, options: RotateOptions): Rotation {
  const now = options.now ?? (() => new Date());
  const result: RotationResult = {
    schema: RESULT_SCHEMA,
    system_name: device.system_name,
    status: 'failed',
    phases: [],
  };
  if (options.runUrl) result.run_url = options.runUrl;
  if (options.dryRun) result.dry_run = true;
  const controller = new AbortController();
  options.signal?.addEventListener('abort', () => controller.abort(options.signal!.reason), { once: true });
  return {
    device,
    route,
    options,
    result,
    request: { names: deviceNames(device), key: options.key, rotationId: rotationId(now()) },
    signal: controller.signal,
    log: options.log ?? (() => {}),
    now,
    phase: 'precheck',
    csrMade: false,
  };
}

/** The phases in order; a dry run stops after the CSR check and has the device drop the key. */
async function runPhases(rotation: Rotation): Promise<void> {
  const session = await timed(rotation, 'precheck', () => precheck(rotation));
  rotation.session = session;
  const csr = await timed(rotation, 'csr', () => makeCsr(rotation, session));
  if (rotation.options.dryRun) {
    rotation.result.status = 'skipped';
    await session.discard(rotation.request).catch(() => {});
    return;
  }
  const issued = await timed(rotation, 'order', () => order(rotation, csr.pem));
  const receipt = await timed(rotation, 'install', () => installAndActivate(rotation, session, issued));
  await timed(rotation, 'verify', () => verifyServed(rotation, session, issued, csr.spki));
  recordCertificate(rotation, issued);
  await cleanUp(rotation, session, receipt);
}
