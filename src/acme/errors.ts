import type { IssuanceFailureClass } from '../model/results.ts';

/** A failed issuance, classed (model/results.ts) so a report can act on it. */
export class IssuanceError extends Error {
  override name = 'IssuanceError';
  /** Things that went wrong besides the failure itself (a TXT value left behind): reported with the result. */
  warnings: string[] = [];
  constructor(
    readonly errorClass: IssuanceFailureClass,
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

const TYPE_CLASSES: [RegExp, IssuanceFailureClass][] = [
  [/:rateLimited$/, 'ca_rate_limited'],
  [/:badNonce$/, 'ca_bad_nonce'],
  [/:(serverInternal)$/, 'ca_unavailable'],
  [/:(incorrectResponse|dns|connection|caa|unauthorized)$/, 'ca_challenge_invalid'],
];

/** Classifies a problem document (or the absence of one) the CA returned. */
export function classifyProblem(problem: AcmeProblem | undefined): IssuanceFailureClass {
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
