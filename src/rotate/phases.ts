import { ariCertificateId } from '../acme/ari.ts';
import { checkCsr } from '../acme/csr-policy.ts';
import { IssuanceError } from '../acme/errors.ts';
import type { IssuedCertificate } from '../acme/issuance.ts';
import type { FailureClass, RotationResult } from '../model/results.ts';
import type { Device, Route } from '../model/types.ts';
import type { CsrRequest, DriverSession, InstallReceipt } from '../platforms/contract.ts';
import { pollServed } from '../verify/await-served.ts';
import { fetchServedChain, servedChainProblems } from '../verify/tls.ts';
import type { RotateOptions } from './rotate-device.ts';

/** One device's rotation as it goes: what it was given, how far it got, and the result it writes. */
export interface Rotation {
  readonly device: Device;
  readonly route: Route;
  readonly options: RotateOptions;
  readonly result: RotationResult;
  readonly request: CsrRequest;
  /** Aborts with the caller's signal: handed to the driver. */
  readonly signal: AbortSignal;
  log(phase: string, message: string): void;
  now(): Date;
  /** The phase running, or the last one run: a failure is reported in it. */
  phase: string;
  /** Set once precheck succeeded; rotateDevice closes it whatever happens. */
  session?: DriverSession;
  /** Set from install on: the device may serve the new certificate, so a failure rolls back. */
  receipt?: InstallReceipt;
  /** Set once the device made a key and CSR: a failure before install asks it to drop them. */
  csrMade: boolean;
  issuedSerial?: string;
  previousAriId?: string;
}

/** A failure inside a phase, with the class the report shows. */
class PhaseError extends Error {
  constructor(
    readonly errorClass: FailureClass,
    message: string,
  ) {
    super(message);
  }
}

/** Handshakes in a row that must show the new certificate, and the pause between them. */
const VERIFY_CONSECUTIVE = 3;
const VERIFY_SPACING_MS = 150;

const messageOf = (error: unknown) => (error as Error).message;

/** Runs one phase: logs its start and records its duration in `result.phases`, whether it succeeds or not. */
export async function timed<T>(rotation: Rotation, name: string, run: () => Promise<T>): Promise<T> {
  rotation.phase = name;
  const started = Date.now();
  rotation.log(name, 'started');
  try {
    return await run();
  } finally {
    rotation.result.phases.push({ name, ms: Date.now() - started });
  }
}

function addWarnings(result: RotationResult, warnings: readonly string[]): void {
  result.warnings = [...(result.warnings ?? []), ...warnings];
}

/** precheck: connects, lets the driver check the device, and records the certificate it serves now. */
export async function precheck(rotation: Rotation): Promise<DriverSession> {
  const session = await connect(rotation);
  await session.precheck().catch(async (e: unknown) => {
    // The session is not returned, so rotateDevice cannot close it.
    await session.close().catch(() => {});
    throw new PhaseError('precheck_failed', messageOf(e));
  });
  await recordPrevious(rotation, session);
  return session;
}

function connect(rotation: Rotation): Promise<DriverSession> {
  const { device, route, options } = rotation;
  return options.driver
    .connect({
      device,
      route,
      options: options.driverOptions ?? {},
      secret: options.secret,
      ...(options.mask ? { mask: options.mask } : {}),
      log: (m) => rotation.log(rotation.phase, m),
      signal: rotation.signal,
      trustedRoots: options.managementRootsPem ?? [],
      ...(options.audit ? { audit: options.audit } : {}),
    })
    .catch((e: unknown) => {
      throw new PhaseError('device_unreachable', messageOf(e));
    });
}

async function recordPrevious(rotation: Rotation, session: DriverSession): Promise<void> {
  const served = await fetchServedChain(session.tlsEndpoint(), 5000).catch(() => []);
  if (!served[0]) return;
  rotation.result.previous = {
    serial: served[0].serialNumber.toLowerCase(),
    not_after: new Date(served[0].validTo).toISOString(),
  };
  try {
    rotation.previousAriId = ariCertificateId(served[0].toString());
  } catch {
    // self-signed or without an authority key identifier: nothing to name in `replaces`
  }
}

/** csr: the device makes a key and CSR, which must pass the inventory's policy before anything is ordered. */
export async function makeCsr(
  rotation: Rotation,
  session: DriverSession,
): Promise<{ pem: string; spki: Uint8Array }> {
  const pem = await session.generateCsr(rotation.request).catch((e: unknown) => {
    throw new PhaseError('device_error', `the device could not make a key and CSR: ${messageOf(e)}`);
  });
  rotation.csrMade = true;
  const checked = await checkCsr(pem, rotation.device, rotation.options.key);
  if (!checked.ok) throw new PhaseError('csr_rejected', checked.problems.join('; '));
  return { pem, spki: checked.csr.spki };
}

/** order: the CSR becomes a chain, naming the certificate served before for ARI's `replaces`. */
export async function order(rotation: Rotation, csrPem: string): Promise<IssuedCertificate> {
  const { result, previousAriId } = rotation;
  const previous = result.previous
    ? { serial: result.previous.serial, ...(previousAriId ? { ari_id: previousAriId } : {}) }
    : undefined;
  const issued = await rotation.options.order(csrPem, rotation.device, previous);
  rotation.issuedSerial = issued.serial.toLowerCase();
  if (issued.warnings?.length) addWarnings(result, issued.warnings);
  return issued;
}

/** install: the device stores the chain, then puts it into service; from the receipt on, failures roll back. */
export async function installAndActivate(
  rotation: Rotation,
  session: DriverSession,
  issued: IssuedCertificate,
): Promise<InstallReceipt> {
  const receipt = await session.install(issued.chain_pem, rotation.request).catch((e: unknown) => {
    throw new PhaseError('install_failed', messageOf(e));
  });
  rotation.receipt = receipt;
  await session.activate(receipt).catch((e: unknown) => {
    throw new PhaseError('activate_failed', messageOf(e));
  });
  return receipt;
}

/** verify: the device serves the issued certificate, with the device's key and names, several times in a row. */
export async function verifyServed(
  rotation: Rotation,
  session: DriverSession,
  issued: IssuedCertificate,
  spki: Uint8Array,
): Promise<void> {
  const { options } = rotation;
  const expected = {
    serial: issued.serial,
    spki,
    names: rotation.request.names,
    rootsPem: options.rootsPem,
    notBefore: issued.not_before,
    notAfter: issued.not_after,
    ...(options.expectedIssuers ? { expectedIssuers: options.expectedIssuers } : {}),
  };
  // A reload leaves old workers answering for a moment: only several good handshakes in a row count.
  const outcome = await pollServed(
    session.tlsEndpoint(),
    (chain) => {
      const problems = servedChainProblems(chain, expected);
      return problems.length > 0 ? problems.join('; ') : undefined;
    },
    {
      timeoutMs: options.verifyTimeoutMs ?? 30_000,
      consecutive: VERIFY_CONSECUTIVE,
      confirmSpacingMs: VERIFY_SPACING_MS,
    },
  );
  if (!outcome.ok) throw new PhaseError('verify_failed', outcome.reason);
}

export function recordCertificate(rotation: Rotation, issued: IssuedCertificate): void {
  rotation.result.status = 'rotated';
  rotation.result.certificate = {
    not_before: issued.not_before,
    not_after: issued.not_after,
    serial: issued.serial,
    issuer: issued.issuer,
    sha256_fingerprint: issued.sha256_fingerprint,
    rotated_at: rotation.now().toISOString(),
    ...(issued.renewal_window ? { renewal_window: issued.renewal_window } : {}),
    pem: issued.chain_pem,
  };
}

/** cleanup: the previous certificate is removed; its failure is a warning, the rotation stands. */
export async function cleanUp(rotation: Rotation, session: DriverSession, receipt: InstallReceipt) {
  await timed(rotation, 'cleanup', () => session.cleanup(receipt)).catch((e: unknown) => {
    addWarnings(rotation.result, [
      `the previous certificate could not be removed from the device: ${messageOf(e)}`,
    ]);
  });
}

/** Records why the rotation failed, in the phase it failed in. */
export function recordFailure(rotation: Rotation, error: unknown): void {
  const { result, phase } = rotation;
  if (error instanceof PhaseError) result.error = { phase, class: error.errorClass, message: error.message };
  else if (error instanceof IssuanceError) {
    result.error = { phase, class: error.errorClass, message: error.message };
    if (error.warnings.length > 0) addWarnings(result, error.warnings);
  } else result.error = { phase, class: 'internal', message: messageOf(error) };
}

/**
 * After a failure: rolls back once a receipt exists, or has the device drop the key of a CSR nothing was
 * installed for.
 */
export async function undo(rotation: Rotation): Promise<void> {
  const { session, receipt, result } = rotation;
  // A receipt exists from install on, and only install and verify can throw after it (cleanup's own failure
  // is a warning): whatever failed then, the device may be serving the new certificate.
  if (session && receipt) {
    await timed(rotation, 'rollback', () => rollBack(rotation, session, receipt)).catch((e: unknown) => {
      result.rollback = { restored: false, message: `rollback failed: ${messageOf(e)}` };
    });
  } else if (session && rotation.csrMade) {
    await session.discard(rotation.request).catch(() => {});
  }
}

/**
 * rollback: restores the previous certificate and checks it is served again, several times in a row. Without a
 * previous certificate (none was served at precheck) "restored" means the device serves something that is not
 * the certificate just issued.
 */
async function rollBack(rotation: Rotation, session: DriverSession, receipt: InstallReceipt): Promise<void> {
  const { result, issuedSerial } = rotation;
  await session.rollback(receipt);
  const expected = result.previous?.serial;
  const restored = (served: string) =>
    expected === undefined ? served !== issuedSerial : served === expected;
  // A refused chain's reason is the serial it served; a failed handshake's is its error: nothing served.
  let refusedSerial: string | undefined;
  const outcome = await pollServed(
    session.tlsEndpoint(),
    (chain) => {
      const served = chain[0]!.serialNumber.toLowerCase();
      if (restored(served)) return undefined;
      refusedSerial = served;
      return served;
    },
    {
      timeoutMs: rotation.options.rollbackTimeoutMs ?? 30_000,
      consecutive: VERIFY_CONSECUTIVE,
      confirmSpacingMs: VERIFY_SPACING_MS,
    },
  );
  if (outcome.ok) {
    result.status = 'rolled_back';
    result.rollback = {
      restored: true,
      message: expected
        ? `the previous certificate (serial ${expected}) is served again`
        : `the device serves ${outcome.value[0]!.serialNumber.toLowerCase()}, not the new certificate (none was served before)`,
    };
    return;
  }
  const served = outcome.reason === refusedSerial ? refusedSerial : undefined;
  result.rollback = {
    restored: false,
    message: `after rollback the device serves ${served ?? 'nothing'}, not ${expected ?? 'its previous certificate'}`,
  };
}
