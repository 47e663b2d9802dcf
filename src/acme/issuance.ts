import { AsyncLocalStorage } from 'node:async_hooks';
import { X509Certificate } from 'node:crypto';
import type { Resolver } from 'node:dns/promises';
import * as acme from 'acme-client';
import { aliasTarget } from '../dns/alias.ts';
import { checkChallengeAliases, describeAliasProblems } from '../dns/cname-check.ts';
import { waitForTxt } from '../dns/propagation.ts';
import type { TxtProvider } from '../dns/provider.ts';
import type { Authority, Device } from '../model/types.ts';
import { retryAfterMs } from '../util/retry-after.ts';
import { sleep } from '../util/sleep.ts';
import { ariCertificateId, parseRenewalInfo, type RenewalInfo } from './ari.ts';
import { checkCsr } from './csr-policy.ts';
import { type AcmeProblem, classifyProblem, IssuanceError, isNetworkError } from './errors.ts';
import { isHiddenNetworkError, unreachableCause, useAcmeNetwork } from './network.ts';

export interface IssueDns {
  provider: TxtProvider;
  delegateZone: string;
  /** Authoritative servers of the delegate zone to poll for propagation. */
  nameservers: readonly string[];
  check?: 'authoritative' | 'doh' | 'both';
  dohUrl?: string;
  propagationTimeoutMs: number;
  /** Resolver for the _acme-challenge CNAME check; undefined skips the check. */
  aliasResolver?: Resolver;
}

export interface IssueRequest {
  device: Device;
  csrPem: string;
  authority: Authority;
  directoryUrl: string;
  accountKeyPem: string;
  dns: IssueDns;
  /** ARI id of the certificate this one replaces (sent as `replaces`). */
  replaces?: string;
  signal?: AbortSignal;
  log?: (step: string, message: string) => void;
  /** Waits longer than this for a CA's Retry-After are not waited: the error is reported instead. */
  maxRetryAfterMs?: number;
  /** A CA request that takes longer fails (class ca_unavailable); default 30 s. Applies process-wide. */
  caTimeoutMs?: number;
}

export interface IssuedCertificate {
  /** Leaf first, then the intermediates, as the CA sent them. */
  chain_pem: string;
  serial: string;
  not_before: string;
  not_after: string;
  issuer: string;
  sha256_fingerprint: string;
  /** The new certificate's RFC 9773 id, for the next order's `replaces`. */
  ari_id?: string;
  renewal_window?: { start: string; end: string };
  timings: { dns_ms: number; propagation_ms: number; validation_ms: number; total_ms: number };
  /** What went wrong without stopping the issuance (an order placed again without `replaces`, a TXT left behind). */
  warnings?: string[];
}

// acme-client throws plain Errors carrying only the problem's detail; the problem document itself is kept
// here, per issuance, so failures can be classified (rate limit vs. rejected vs. CA down).
const lastProblem = new AsyncLocalStorage<{ problem: AcmeProblem | undefined }>();

function recordedProblem(): AcmeProblem | undefined {
  return lastProblem.getStore()?.problem;
}
let interceptorInstalled = false;

function installProblemRecorder(): void {
  useAcmeNetwork(); // the process's proxy environment; acme-client's own retries off (ours are bounded)
  if (interceptorInstalled) return;
  interceptorInstalled = true;
  acme.axios.interceptors.response.use((response) => {
    const store = lastProblem.getStore();
    if (store && response.status >= 400) {
      const data = response.data as { type?: string; detail?: string } | undefined;
      const problem: AcmeProblem = { status: response.status };
      if (data?.type) problem.type = data.type;
      if (data?.detail) problem.detail = data.detail;
      const retryAfter = response.headers['retry-after'];
      if (typeof retryAfter === 'string') problem.retryAfter = retryAfter;
      store.problem = problem;
    }
    return response;
  });
}

/** Runs one CA request: retries 5xx/429/network errors a few times with bounded waits, classifies failures. */
async function caStep<T>(step: string, request: IssueRequest, run: () => Promise<T>): Promise<T> {
  const store = lastProblem.getStore()!;
  const maxWait = request.maxRetryAfterMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    store.problem = undefined;
    const started = Date.now();
    try {
      return await run();
    } catch (error) {
      if (request.signal?.aborted) throw new IssuanceError('cancelled', `${step}: cancelled`);
      const problem = recordedProblem();
      // acme-client turns an axios timeout into a TypeError of its own; the elapsed time tells it apart.
      const timedOut = !problem && Date.now() - started >= 0.95 * (request.caTimeoutMs ?? 30_000);
      // acme-client also reads `response.config` of a request that got no response at all (a TLS or network
      // failure) and so throws a TypeError that hides the cause; ask the CA once more ourselves to name it.
      if (!problem && !timedOut && isHiddenNetworkError(error)) {
        const cause = await unreachableCause(request.directoryUrl, 10_000);
        if (cause)
          throw new IssuanceError(
            'ca_unavailable',
            `${step}: the CA at ${request.directoryUrl} could not be reached: ${cause}`,
          );
      }
      const errorClass = problem
        ? classifyProblem(problem)
        : isNetworkError(error) || timedOut
          ? 'ca_unavailable'
          : 'internal';
      if (timedOut)
        (error as Error).message = `no answer from the CA within ${request.caTimeoutMs ?? 30_000} ms`;
      const wait = retryAfterMs(problem?.retryAfter) ?? 250 * 2 ** attempt;
      const retryable = errorClass === 'ca_unavailable' || errorClass === 'ca_rate_limited';
      if (retryable && attempt < 3 && wait <= maxWait) {
        request.log?.(
          step,
          `CA answered ${problem?.status ?? (error as { code?: string }).code}; retrying in ${wait} ms`,
        );
        await sleep(wait, request.signal);
        continue;
      }
      const details: { problem_type?: string; status?: number; retry_after?: string } = {};
      if (problem?.type) details.problem_type = problem.type;
      if (problem) details.status = problem.status;
      if (problem?.retryAfter) details.retry_after = problem.retryAfter;
      const detail = problem?.detail ?? (error as Error).message;
      throw new IssuanceError(errorClass, `${step}: ${detail}`, details);
    }
  }
}

interface PendingChallenge {
  challenge: acme.Authorization['challenges'][number];
  target: string;
  value: string;
}

/**
 * Turns a device's CSR into a certificate chain: CSR policy, the challenge alias check, an ACME order
 * (with `profile` and `replaces` when known), DNS-01 through the delegate zone with the propagation
 * confirmed at its authoritative servers, finalisation and download. TXT values it wrote are always removed.
 */
export async function issueCertificate(request: IssueRequest): Promise<IssuedCertificate> {
  installProblemRecorder();
  acme.axios.defaults.timeout = request.caTimeoutMs ?? 30_000;
  try {
    return await lastProblem.run({ problem: undefined }, () => issue(request));
  } catch (error) {
    if (request.signal?.aborted && !(error instanceof IssuanceError && error.errorClass === 'cancelled')) {
      const reason =
        request.signal.reason instanceof Error
          ? request.signal.reason.message
          : String(request.signal.reason);
      const cancelled = new IssuanceError('cancelled', `cancelled: ${reason}`);
      if (error instanceof IssuanceError) cancelled.warnings.push(...error.warnings);
      throw cancelled;
    }
    throw error;
  }
}

async function issue(request: IssueRequest): Promise<IssuedCertificate> {
  const started = Date.now();
  const { device, dns, log } = request;
  const checked = await checkCsr(request.csrPem, device, request.authority.key);
  if (!checked.ok) {
    throw new IssuanceError(
      'csr_rejected',
      `CSR from ${device.system_name} refused: ${checked.problems.join('; ')}`,
    );
  }
  const names = checked.csr.names;
  if (dns.aliasResolver) {
    const problems = await checkChallengeAliases(names, dns.delegateZone, dns.aliasResolver);
    if (problems.length > 0)
      throw new IssuanceError(
        problems.every((p) => p.lookupError) ? 'dns_resolver_failed' : 'dns_alias_missing',
        describeAliasProblems(problems),
      );
  }

  const client = new acme.Client({
    directoryUrl: request.directoryUrl,
    accountKey: request.accountKeyPem,
    backoffMin: 50,
    backoffMax: 2000,
  });
  // The account exists (ottr acme register made it); this only looks its URL up, with a POST-as-GET.
  await caStep('account', request, () => client.createAccount({ onlyReturnExisting: true })).catch(
    (error: IssuanceError) => {
      if (error.details.problem_type?.endsWith(':accountDoesNotExist')) {
        const hint = `no ACME account for this key at ${request.directoryUrl}: run "ottr acme register"`;
        throw new IssuanceError('ca_rejected', hint, error.details);
      }
      throw error;
    },
  );
  const orderRequest: Record<string, unknown> = {
    identifiers: names.map((value) => ({ type: 'dns', value })),
  };
  if (request.authority.profile) orderRequest.profile = request.authority.profile;
  if (request.replaces) orderRequest.replaces = request.replaces;
  const warnings: string[] = [];
  const order = await placeOrder(client, request, orderRequest, warnings);
  log?.('order', `order for ${names.length} name(s) created`);
  try {
    const result = await completeOrder(client, order, request, checked.csr.spki, started, warnings);
    if (warnings.length > 0) result.warnings = warnings;
    return result;
  } catch (error) {
    // The order failed after the CA created its authorizations: give them up (RFC 8555 §7.5.2), so a
    // half-validated authorization is not left for reuse. Best effort; the failure itself is what is reported.
    await deactivateAuthorizations(client, order, request);
    if (error instanceof IssuanceError) {
      error.warnings.push(...warnings);
      throw error;
    }
    if (warnings.length === 0) throw error;
    const wrapped = new IssuanceError('internal', (error as Error).message);
    wrapped.warnings.push(...warnings);
    throw wrapped;
  }
}

/**
 * Places the order. A `replaces` naming a certificate that already has a replacement order (one placed by an
 * earlier run whose install was rolled back) is refused with 409 and, since RFC 9773 (§5, §7.4), the problem type
 * `alreadyReplaced`; before that Boulder answered 409 with a `conflict` type (community.letsencrypt.org/t/223504)
 * and Pebble 409 `malformed` (letsencrypt/pebble#532). It would be refused on every later run too, so the order
 * is placed once more without `replaces` — an ordinary order, without the renewal's rate-limit exemption.
 */
async function placeOrder(
  client: acme.Client,
  request: IssueRequest,
  orderRequest: Record<string, unknown>,
  warnings: string[],
): Promise<acme.Order> {
  try {
    return await caStep('order', request, () => client.createOrder(orderRequest as never));
  } catch (error) {
    if (!orderRequest.replaces || !(error instanceof IssuanceError) || !refusesReplaces(error)) throw error;
    const refused = orderRequest.replaces;
    delete orderRequest.replaces;
    const warning =
      `the CA refused the order's ARI "replaces" ${String(refused)} ` +
      `(${error.details.problem_type ?? `HTTP ${error.details.status}`}: the certificate it names already has ` +
      'a replacement order); ordered again without it, so this order is not an ARI renewal and counts against ' +
      "the CA's rate limits";
    request.log?.('order', warning);
    warnings.push(warning);
    return await caStep('order', request, () => client.createOrder(orderRequest as never)).catch(
      (retryError: unknown) => {
        if (retryError instanceof IssuanceError) retryError.warnings.push(warning);
        throw retryError;
      },
    );
  }
}

function refusesReplaces(error: IssuanceError): boolean {
  return error.details.problem_type?.endsWith(':alreadyReplaced') === true || error.details.status === 409;
}

/**
 * Deactivates every pending or valid authorization of a failed order (RFC 8555 §7.5.2; §7.1.6: only those two
 * states can move to "deactivated"). Each one's current state is read first; one that cannot be read is
 * deactivated anyway. Failures are logged, never thrown.
 */
async function deactivateAuthorizations(
  client: acme.Client,
  order: acme.Order,
  request: IssueRequest,
): Promise<void> {
  const urls = order.authorizations ?? [];
  if (urls.length === 0) return;
  const outcomes = await Promise.all(
    urls.map(async (url): Promise<string | undefined> => {
      let status: string | undefined;
      try {
        status = (await client.getAuthorizations({ authorizations: [url] } as acme.Order))[0]?.status;
      } catch {
        status = undefined; // unknown: try to deactivate it all the same
      }
      if (status !== undefined && status !== 'pending' && status !== 'valid') return undefined;
      for (let attempt = 1; ; attempt++) {
        try {
          await client.deactivateAuthorization({ url } as acme.Authorization);
          return 'deactivated';
        } catch (error) {
          // One retry (a stale nonce, a CA hiccup); acme-client's message carries the problem's detail.
          if (attempt < 2) continue;
          return `${url}: ${(error as Error).message}`;
        }
      }
    }),
  );
  const done = outcomes.filter((o) => o === 'deactivated').length;
  const failed = outcomes.filter((o): o is string => o !== undefined && o !== 'deactivated');
  if (done > 0) request.log?.('order', `deactivated ${done} authorization(s) of the failed order`);
  for (const failure of failed)
    request.log?.('order', `an authorization of the failed order could not be deactivated: ${failure}`);
}

async function completeOrder(
  client: acme.Client,
  order: acme.Order,
  request: IssueRequest,
  csrSpki: Uint8Array,
  started: number,
  warnings: string[],
): Promise<IssuedCertificate> {
  const { dns, log } = request;
  const authorizations = await caStep('authorizations', request, () => client.getAuthorizations(order));

  const pending: PendingChallenge[] = [];
  for (const authz of authorizations) {
    if (authz.status === 'valid') continue;
    const challenge = authz.challenges.find((c) => c.type === 'dns-01');
    if (!challenge)
      throw new IssuanceError(
        'ca_rejected',
        `the CA offers no dns-01 challenge for ${authz.identifier.value}`,
      );
    const value = await client.getChallengeKeyAuthorization(challenge);
    pending.push({ challenge, target: aliasTarget(authz.identifier.value, dns.delegateZone), value });
  }

  const written: { target: string; value: string }[] = [];
  let dnsMs = 0;
  let propagationMs = 0;
  let validationMs = 0;
  try {
    const byTarget = new Map<string, string[]>();
    for (const p of pending) byTarget.set(p.target, [...(byTarget.get(p.target) ?? []), p.value]);
    const dnsStarted = Date.now();
    await Promise.all(
      [...byTarget].map(async ([target, values]) => {
        for (const value of values) {
          // Recorded before the write: a write that fails after Route53 took it (waiting for INSYNC, a
          // cancellation) still leaves the value there; removing a value that is absent is a no-op.
          written.push({ target, value });
          await dns.provider.addTxt(target, value, request.signal).catch((error: unknown) => {
            throw dnsFailure('dns_provider', error);
          });
        }
      }),
    );
    dnsMs = Date.now() - dnsStarted;
    const propagationStarted = Date.now();
    await Promise.all(
      [...byTarget].map(([target, values]) =>
        waitForTxt(target, values, {
          nameservers: dns.nameservers,
          check: dns.check ?? 'authoritative',
          ...(dns.dohUrl ? { dohUrl: dns.dohUrl } : {}),
          timeoutMs: dns.propagationTimeoutMs,
          ...(request.signal ? { signal: request.signal } : {}),
        }).catch((error: unknown) => {
          throw dnsFailure('dns_propagation', error);
        }),
      ),
    );
    propagationMs = Date.now() - propagationStarted;
    log?.('order', `TXT records visible at every authoritative server after ${propagationMs} ms`);

    const validationStarted = Date.now();
    // Every challenge is followed to its end before anything fails: the TXT values are not removed, nor the
    // authorizations deactivated, while the CA is still validating another name of the order (Pebble, for one,
    // marks an authorization valid when its validation ends even if it was deactivated meanwhile).
    const validations = await Promise.allSettled(
      pending.map(async ({ challenge }) => {
        await caStep('challenge', request, () => client.completeChallenge(challenge));
        await caStep('challenge', request, () => client.waitForValidStatus(challenge)).catch(
          (error: IssuanceError) => {
            throw new IssuanceError(
              error.errorClass === 'ca_rejected' || error.errorClass === 'internal'
                ? 'ca_challenge_invalid'
                : error.errorClass,
              error.message,
              error.details,
            );
          },
        );
      }),
    );
    const invalid = validations.find((v): v is PromiseRejectedResult => v.status === 'rejected');
    if (invalid) throw invalid.reason;
    validationMs = Date.now() - validationStarted;
  } finally {
    // Always: success, failure, timeout or cancellation. Only our own values go.
    const removals = await Promise.allSettled(
      written.map(({ target, value }) => dns.provider.removeTxt(target, value)),
    );
    for (const warning of leftBehind(written, removals, dns.delegateZone)) {
      log?.('cleanup', warning);
      warnings.push(warning);
    }
  }

  const finalized = await caStep('finalize', request, () => client.finalizeOrder(order, request.csrPem));
  const chainPem = await caStep('certificate', request, () => client.getCertificate(finalized));
  const leaf = new X509Certificate(chainPem);
  const leafSpki = leaf.publicKey.export({ type: 'spki', format: 'der' });
  if (!Buffer.from(csrSpki).equals(leafSpki)) {
    throw new IssuanceError('ca_rejected', "the issued certificate does not carry the CSR's public key");
  }
  const result: IssuedCertificate = {
    chain_pem: chainPem,
    serial: leaf.serialNumber.toLowerCase(),
    not_before: new Date(leaf.validFrom).toISOString(),
    not_after: new Date(leaf.validTo).toISOString(),
    issuer: leaf.issuer.replace(/\n/g, ','),
    sha256_fingerprint: leaf.fingerprint256,
    timings: { dns_ms: dnsMs, propagation_ms: propagationMs, validation_ms: validationMs, total_ms: 0 },
  };
  try {
    result.ari_id = ariCertificateId(chainPem);
  } catch {
    // no AKI: ARI cannot name this certificate
  }
  if (request.authority.ari !== false && result.ari_id) {
    const info = await fetchRenewalInfo(request.directoryUrl, result.ari_id).catch(() => undefined);
    if (info) result.renewal_window = info.window;
  }
  result.timings.total_ms = Date.now() - started;
  return result;
}

/**
 * One warning per record set that kept a value this issuance wrote. Route53 records have no expiry (the TTL
 * only bounds caching), so the value stays in the delegate zone until someone deletes it; and the provider
 * removes only the values its own order wrote, so no later rotation of the name takes it away either.
 */
function leftBehind(
  written: { target: string; value: string }[],
  removals: PromiseSettledResult<void>[],
  delegateZone: string,
): string[] {
  const byTarget = new Map<string, { values: string[]; reason: string }>();
  removals.forEach((removal, i) => {
    if (removal.status !== 'rejected') return;
    const { target, value } = written[i]!;
    const entry = byTarget.get(target) ?? {
      values: [],
      reason: String((removal.reason as Error)?.message ?? removal.reason).slice(0, 300),
    };
    entry.values.push(value);
    byTarget.set(target, entry);
  });
  return [...byTarget].map(
    ([target, { values, reason }]) =>
      `the TXT record ${target} in the delegate zone ${delegateZone} still holds ${values.length} challenge ` +
      `value(s) this run wrote (${values.map((v) => `"${v}"`).join(', ')}): removing them failed (${reason}). ` +
      'Route53 records do not expire and later rotations of this name remove only their own values: delete ' +
      'these values from the record set (keep any other value in it).',
  );
}

function dnsFailure(errorClass: 'dns_provider' | 'dns_propagation', error: unknown): IssuanceError {
  if (error instanceof IssuanceError) return error;
  return new IssuanceError(errorClass, (error as Error).message);
}

/** The CA's suggested renewal window for a certificate (RFC 9773), or undefined when the CA has no ARI. */
export async function fetchRenewalInfo(
  directoryUrl: string,
  ariId: string,
): Promise<RenewalInfo | undefined> {
  const directory = await acme.axios.get(directoryUrl, { validateStatus: () => true });
  const base = (directory.data as { renewalInfo?: string } | undefined)?.renewalInfo;
  if (typeof base !== 'string') return undefined;
  const response = await acme.axios.get(`${base.replace(/\/$/, '')}/${ariId}`, {
    validateStatus: () => true,
  });
  if (response.status !== 200) return undefined;
  const retryAfter = response.headers['retry-after'];
  return parseRenewalInfo(response.data, typeof retryAfter === 'string' ? retryAfter : undefined, new Date());
}
