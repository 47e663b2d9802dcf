import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { rootCertificates } from 'node:tls';
import { deviceNames } from '../acme/csr-policy.ts';
import { RESULT_SCHEMA, type RotationResult } from '../model/results.ts';
import type { Device, Settings } from '../model/types.ts';
import type { Plan } from '../plan/build-plan.ts';
import { pemCertificates } from '../util/pem.ts';
import { chainProblems, coversName, issuerOrganisation, normaliseSerial } from '../verify/tls.ts';

/**
 * Which result files the report believes (docs/security-records.md). A rotate runner is trusted with its own
 * data center's devices only, so a result counts only when it arrived in the artifact of the matrix entry the
 * plan gave that device, and a rotated result is believed for what its certificate proves, not for what its JSON
 * says: serial, validity, issuer and fingerprint are derived from the issued leaf, whose chain must lead by
 * signature to the authority's roots, whose names must cover the device's and which must have been issued
 * during this run.
 */

/** rotate.yml uploads each matrix entry's results as `ottr-result-<entry id>`; download-artifact keeps the name. */
export const RESULT_ARTIFACT_PREFIX = 'ottr-result-';

/**
 * How much earlier than the plan a new certificate may say it starts: ACME CAs backdate `notBefore` (Let's
 * Encrypt by one hour). Anything older is not this run's certificate (a real one replayed from CT logs, say).
 */
export const BACKDATE_ALLOWANCE_MS = 2 * 60 * 60 * 1000;

/** Clock difference tolerated between the rotate runner, the CA and the report runner. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** One result file as downloaded: where it was found and what it says. */
export interface FoundResult {
  /** The file, relative to the results folder. */
  file: string;
  /** The first folder below the results folder (the artifact it came in); undefined for a file at the top. */
  artifact?: string;
  result: RotationResult;
}

/** Every `*.json` below `dir`, parsed; a file that is not a result is a problem, never an exception. */
export function findResults(dir: string): {
  found: FoundResult[];
  problems: { file: string; message: string }[];
} {
  const found: FoundResult[] = [];
  const problems: { file: string; message: string }[] = [];
  const walk = (folder: string) => {
    // Names within one folder are unique: no comparison is ever a tie.
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.json')) {
        const file = relative(dir, path).split(sep).join('/');
        const parts = file.split('/');
        try {
          const result = JSON.parse(readFileSync(path, 'utf8')) as RotationResult;
          if (result?.schema !== RESULT_SCHEMA || typeof result.system_name !== 'string')
            throw new Error('not an ottr result file');
          found.push({ file, ...(parts.length > 1 ? { artifact: parts[0]! } : {}), result });
        } catch (error) {
          problems.push({ file, message: (error as Error).message });
        }
      }
    }
  };
  walk(dir);
  return { found, problems };
}

/** The device list of every matrix entry, by entry id (inline `devices`, or the plan's shard it points at). */
export function entryDevices(plan: Plan): Map<string, Set<string>> {
  const byEntry = new Map<string, Set<string>>();
  for (const entry of plan.matrix?.include ?? []) {
    const devices =
      entry.devices ?? (entry.shard !== undefined ? plan.shards?.[entry.shard]?.devices : undefined) ?? [];
    byEntry.set(entry.id, new Set(devices));
  }
  return byEntry;
}

/** What a rotated certificate is checked against: the authority's roots and accepted issuer organisations. */
export interface AuthorityTrust {
  /** Trust anchors (PEM); the authority's roots_file, or Node's bundled public roots when it names none. */
  rootsPem: string[];
  expectedIssuers?: string[];
  /** Why the roots could not be read; every rotated result of the authority is then refused. */
  problem?: string;
}

/** The trust of every authority in settings, roots read from the repository at `root`. */
export function authorityTrust(root: string, settings: Settings | undefined): Map<string, AuthorityTrust> {
  const trust = new Map<string, AuthorityTrust>();
  for (const [name, authority] of Object.entries(settings?.authorities ?? {})) {
    const issuers = authority.expected_issuers?.length ? { expectedIssuers: authority.expected_issuers } : {};
    if (!authority.roots_file) {
      trust.set(name, { rootsPem: [...rootCertificates], ...issuers });
      continue;
    }
    try {
      const rootsPem = pemCertificates(readFileSync(join(root, authority.roots_file), 'utf8'));
      trust.set(
        name,
        rootsPem.length > 0
          ? { rootsPem, ...issuers }
          : { rootsPem: [], problem: `${authority.roots_file} holds no PEM certificate` },
      );
    } catch (error) {
      trust.set(name, {
        rootsPem: [],
        problem: `${authority.roots_file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      });
    }
  }
  return trust;
}

export interface AcceptContext {
  /** The run's plan (plan.json); undefined when it could not be read, and then `planProblem` says why. */
  plan?: Plan;
  planProblem?: string;
  /** The inventory as the report loaded it, by system name. */
  devices: ReadonlyMap<string, Device>;
  trust: ReadonlyMap<string, AuthorityTrust>;
  /** The report's clock. */
  now: Date;
}

export interface Refusal {
  file: string;
  system_name: string;
  artifact?: string;
  reason: string;
}

export interface Acceptance {
  /** Results to act on: rotated ones with their certificate fields derived from the PEM, and the others. */
  accepted: RotationResult[];
  /** Results not believed: never recorded, never notified as the device's outcome. */
  refused: Refusal[];
  /** Devices with an acceptable result that are no longer in the inventory (removed since the plan). */
  removed: string[];
  /** Accepted with an adjustment (an ARI window outside the certificate's validity is dropped). */
  notes: { system_name: string; message: string }[];
}

const STATUSES: ReadonlySet<string> = new Set(['rotated', 'failed', 'rolled_back', 'skipped']);

/**
 * Sorts a run's results into accepted and refused (pure: a function of its arguments). Rules, in order:
 * 1. the file lies in `ottr-result-<id>/` for a matrix entry `id` of the plan whose devices include the result's
 *    system_name (no plan: nothing is accepted);
 * 2. that system_name has exactly one result among the files so placed;
 * 3. for `rotated`, `certificate.pem` is the issued chain and passes `certificateEvidence`; the record's serial,
 *    not_before, not_after, issuer and sha256_fingerprint are taken from the leaf, and a result whose JSON states
 *    a different value for any of them is refused (a genuine rotate job writes both from the same certificate).
 */
export function acceptResults(found: readonly FoundResult[], context: AcceptContext): Acceptance {
  const out: Acceptance = { accepted: [], refused: [], removed: [], notes: [] };
  const refuse = (f: FoundResult, reason: string) =>
    out.refused.push({
      file: f.file,
      system_name: f.result.system_name,
      ...(f.artifact ? { artifact: f.artifact } : {}),
      reason,
    });
  // Without the plan's time there is no floor for not_before, and an old certificate would pass as this run's.
  const planProblem = !context.plan
    ? (context.planProblem ?? 'the plan file was not read')
    : Number.isNaN(Date.parse(context.plan.now))
      ? `the plan's time ${JSON.stringify(context.plan.now)} is not a date`
      : undefined;
  if (!context.plan || planProblem) {
    for (const f of found) refuse(f, `no plan to match it to its job: ${planProblem}`);
    return out;
  }
  const entries = entryDevices(context.plan);
  const placed: FoundResult[] = [];
  for (const f of found) {
    const name = f.result.system_name;
    if (!f.artifact?.startsWith(RESULT_ARTIFACT_PREFIX)) {
      refuse(f, `not inside a rotate job's artifact (${RESULT_ARTIFACT_PREFIX}<entry id>/)`);
      continue;
    }
    const id = f.artifact.slice(RESULT_ARTIFACT_PREFIX.length);
    const devices = entries.get(id);
    if (!devices) {
      refuse(f, `the artifact ${f.artifact} belongs to no job of this run's plan`);
      continue;
    }
    if (!devices.has(name)) {
      refuse(f, `the job ${id} was not given ${name}: a job reports only on its own devices`);
      continue;
    }
    placed.push(f);
  }
  const count = new Map<string, number>();
  for (const f of placed) count.set(f.result.system_name, (count.get(f.result.system_name) ?? 0) + 1);
  const floor = Math.min(Date.parse(context.plan.now), context.now.getTime()) - BACKDATE_ALLOWANCE_MS;
  for (const f of placed) {
    const result = f.result;
    const copies = count.get(result.system_name)!;
    if (copies > 1) {
      refuse(f, `${copies} results for ${result.system_name}: none is believed`);
      continue;
    }
    if (!STATUSES.has(result.status)) {
      refuse(f, `unknown status ${JSON.stringify(result.status)}`);
      continue;
    }
    const device = context.devices.get(result.system_name);
    if (!device) {
      out.removed.push(result.system_name);
      continue;
    }
    if (result.status !== 'rotated') {
      // Nothing of it is recorded; what remains is what the report tells people.
      const { certificate: _ignored, ...rest } = result;
      out.accepted.push(rest);
      continue;
    }
    const trust = context.trust.get(device.certificate_authority);
    if (!trust) {
      refuse(f, `the authority ${device.certificate_authority} is not in settings`);
      continue;
    }
    if (trust.problem) {
      refuse(f, `the roots of ${device.certificate_authority} are unusable: ${trust.problem}`);
      continue;
    }
    const evidence = certificateEvidence(result, device, trust, { notBeforeFloor: floor, now: context.now });
    if ('problems' in evidence) {
      refuse(f, evidence.problems.join('; '));
      continue;
    }
    out.accepted.push({ ...result, certificate: evidence.certificate });
    for (const message of evidence.notes) out.notes.push({ system_name: result.system_name, message });
  }
  return out;
}

const sameInstant = (a: string, b: string) => Math.abs(Date.parse(a) - Date.parse(b)) < 1000;

type Certificate = NonNullable<RotationResult['certificate']>;

/**
 * The certificate a rotated result proves, or why it proves nothing. The chain is `certificate.pem` (leaf
 * first); the leaf must cover every name of the device, must not be a CA, must have been issued no earlier than
 * `notBeforeFloor` and must be valid now; every further certificate must be a CA; the chain must lead
 * by signature to one of the roots (`chainProblems`); the issuer organisation must be expected when the
 * authority lists any. The returned fields are the leaf's; `rotated_at` and `renewal_window` come from the JSON,
 * bounded by the leaf (`rotated_at` within the run, a window inside the validity or dropped).
 */
export function certificateEvidence(
  result: RotationResult,
  device: Device,
  trust: AuthorityTrust,
  bounds: { notBeforeFloor: number; now: Date },
): { certificate: Certificate; notes: string[] } | { problems: string[] } {
  const claimed = result.certificate;
  if (!claimed?.pem || typeof claimed.pem !== 'string')
    return { problems: ['a rotated result without certificate.pem (the issued chain) proves nothing'] };
  let chain: X509Certificate[];
  try {
    chain = pemCertificates(claimed.pem).map((pem) => new X509Certificate(pem));
  } catch (error) {
    return { problems: [`certificate.pem does not parse: ${(error as Error).message}`] };
  }
  const leaf = chain[0];
  if (!leaf) return { problems: ['certificate.pem holds no certificate'] };
  const problems: string[] = [];
  const now = bounds.now.getTime();
  const notBefore = Date.parse(leaf.validFrom);
  const notAfter = Date.parse(leaf.validTo);
  const derived = {
    serial: leaf.serialNumber.toLowerCase(),
    not_before: new Date(notBefore).toISOString(),
    not_after: new Date(notAfter).toISOString(),
    issuer: leaf.issuer.replace(/\n/g, ','),
    sha256_fingerprint: leaf.fingerprint256,
  };

  for (const name of deviceNames(device))
    if (!coversName(leaf, name)) problems.push(`the certificate does not cover ${name}`);
  if (leaf.ca) problems.push('the leaf is a CA certificate');
  if (notBefore < bounds.notBeforeFloor)
    problems.push(
      `the certificate was issued before this run (not_before ${derived.not_before}, earlier than ${new Date(bounds.notBeforeFloor).toISOString()}): an old certificate is not a rotation`,
    );
  if (notBefore > now + CLOCK_SKEW_MS)
    problems.push(`the certificate is not valid before ${derived.not_before}`);
  if (notAfter <= now) problems.push(`the certificate expired at ${derived.not_after}`);
  for (const cert of chain.slice(1)) {
    const subject = cert.subject.replace(/\n/g, ', ');
    if (!cert.ca) problems.push(`${subject} in the chain is not a CA certificate`);
  }
  const issuers = trust.expectedIssuers ?? [];
  if (issuers.length > 0) {
    const org = issuerOrganisation(leaf);
    if (!org || !issuers.includes(org))
      problems.push(`the issuer organisation ${org ?? '(none)'} is not one of ${issuers.join(', ')}`);
  }
  let roots: X509Certificate[];
  try {
    roots = trust.rootsPem.map((pem) => new X509Certificate(pem));
  } catch (error) {
    return { problems: [`the authority's roots do not parse: ${(error as Error).message}`] };
  }
  problems.push(
    ...chainProblems(chain, roots, bounds.now, CLOCK_SKEW_MS).map((p) =>
      p
        .replace('the served chain', "certificate.pem's chain")
        .replace(/ \(is the intermediate missing\?\)$/, ''),
    ),
  );

  // What the JSON states must be what the certificate says.
  const differs = (field: keyof typeof derived, same: (a: string, b: string) => boolean) => {
    const value = claimed[field];
    if (value !== undefined && (typeof value !== 'string' || !same(value, derived[field])))
      problems.push(`the result says ${field} ${String(value)}, the certificate ${derived[field]}`);
  };
  differs('serial', (a, b) => normaliseSerial(a) === normaliseSerial(b));
  differs('not_before', sameInstant);
  differs('not_after', sameInstant);
  differs('issuer', (a, b) => a === b);
  differs('sha256_fingerprint', (a, b) => a.toUpperCase() === b.toUpperCase());

  const rotatedAt = Date.parse(claimed.rotated_at);
  if (Number.isNaN(rotatedAt) || rotatedAt < notBefore || rotatedAt > now + CLOCK_SKEW_MS)
    problems.push(`rotated_at ${String(claimed.rotated_at)} is not within this run`);
  if (problems.length > 0) return { problems };

  const notes: string[] = [];
  const certificate: Certificate = {
    ...derived,
    rotated_at: claimed.rotated_at,
    pem: claimed.pem,
  };
  const window = claimed.renewal_window;
  if (window) {
    const start = Date.parse(window.start);
    const end = Date.parse(window.end);
    if (start <= end && start >= notBefore && end <= notAfter)
      certificate.renewal_window = { start: window.start, end: window.end };
    else
      notes.push(
        `its ARI renewal window (${String(window.start)} to ${String(window.end)}) is not inside the certificate's validity and is not recorded`,
      );
  }
  return { certificate, notes };
}

/** A refusal as one line: where the file was, whose it claims to be, and why it is not believed. */
export function describeRefusal(r: Refusal): string {
  return `${r.file}: the result for ${r.system_name} is refused: ${r.reason}`;
}
