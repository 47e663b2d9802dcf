/**
 * Why an issuance failed, in classes a report can act on: "the CA said no" is not "DNS never propagated" is
 * not "our bug".
 */
export type ErrorClass =
  | 'csr_rejected' // the device's CSR broke policy: nothing was ordered
  | 'dns_alias_missing' // an _acme-challenge CNAME is missing or points elsewhere
  | 'dns_provider' // Route53 refused or failed (auth, throttling beyond retries)
  | 'dns_propagation' // TXT never visible at every authoritative server in time
  | 'ca_rate_limited' // urn:ietf:params:acme:error:rateLimited / HTTP 429
  | 'ca_rejected' // the CA refused the request (unauthorized, rejectedIdentifier, badCSR, …)
  | 'ca_challenge_invalid' // the CA checked the challenge and found it wrong
  | 'ca_unavailable' // 5xx, timeouts, connection failures talking to the CA
  | 'ca_bad_nonce' // badNonce beyond the client's retries
  | 'cancelled'
  | 'internal'; // anything else: a bug to look at

export class IssuanceError extends Error {
  override name = 'IssuanceError';
  /** Things that went wrong besides the failure itself (a TXT value left behind): reported with the result. */
  warnings: string[] = [];
  constructor(
    readonly errorClass: ErrorClass,
    message: string,
    readonly details: { problem_type?: string; status?: number; retry_after?: string } = {},
  ) {
    super(message);
  }
}

/** An RFC 8555 problem document as the CA sent it. */
export interface AcmeProblem {
  status: number;
  type?: string;
  detail?: string;
  retryAfter?: string;
}

const TYPE_CLASSES: [RegExp, ErrorClass][] = [
  [/:rateLimited$/, 'ca_rate_limited'],
  [/:badNonce$/, 'ca_bad_nonce'],
  [/:(serverInternal)$/, 'ca_unavailable'],
  [/:(incorrectResponse|dns|connection|caa|unauthorized)$/, 'ca_challenge_invalid'],
];

/** Classifies a problem document (or the absence of one) the CA returned. */
export function classifyProblem(problem: AcmeProblem | undefined): ErrorClass {
  if (!problem) return 'internal';
  for (const [pattern, errorClass] of TYPE_CLASSES)
    if (problem.type && pattern.test(problem.type)) return errorClass;
  if (problem.status === 429) return 'ca_rate_limited';
  if (problem.status >= 500) return 'ca_unavailable';
  if (problem.status >= 400) return 'ca_rejected';
  return 'internal';
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPIPE',
]);

export function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}
