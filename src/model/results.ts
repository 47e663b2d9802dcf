/** One device's outcome of one run: its result file, uploaded as an artifact named after the device. */
export interface RotationResult {
  schema: 'ottr.result/v1';
  system_name: string;
  status: 'rotated' | 'failed' | 'rolled_back' | 'skipped';
  /** The new certificate (status rotated). */
  certificate?: {
    not_before: string;
    not_after: string;
    serial: string;
    issuer: string;
    sha256_fingerprint: string;
    rotated_at: string;
    renewal_window?: { start: string; end: string };
    /**
     * The issued chain as PEM, leaf first, then the intermediates (public data). The report derives the record
     * (serial, validity, issuer, fingerprint) from it and checks its chain: a rotated result without it is refused.
     */
    pem?: string;
  };
  /** What the device served before this run, when it could be read. */
  previous?: { serial: string; not_after: string };
  phases: { name: string; ms: number }[];
  error?: { phase: string; class: FailureClass; message: string };
  rollback?: { restored: boolean; message: string };
  warnings?: string[];
  dry_run?: boolean;
  run_url?: string;
}

export const RESULT_SCHEMA = 'ottr.result/v1';

/**
 * Why an issuance failed, in classes a report can act on: "the CA said no" is not "DNS never propagated" is
 * not "our bug".
 */
export type IssuanceFailureClass =
  | 'csr_rejected' // the device's CSR broke policy: nothing was ordered
  | 'dns_alias_missing' // an _acme-challenge CNAME is missing or points elsewhere
  | 'dns_resolver_failed' // the resolvers could not answer whether the CNAMEs are there (timeouts, refusals)
  | 'dns_provider' // Route53 refused or failed (auth, throttling beyond retries)
  | 'dns_propagation' // TXT never visible at every authoritative server in time
  | 'ca_rate_limited' // urn:ietf:params:acme:error:rateLimited / HTTP 429
  | 'ca_rejected' // the CA refused the request (unauthorized, rejectedIdentifier, badCSR, …)
  | 'ca_challenge_invalid' // the CA checked the challenge and found it wrong
  | 'ca_unavailable' // 5xx, timeouts, connection failures talking to the CA
  | 'ca_bad_nonce' // badNonce beyond the client's retries
  | 'cancelled' // the run was aborted (its time limit or a cancel) while ordering
  | 'internal'; // anything else: a bug to look at

/**
 * Every class a result's `error.class` can carry: the issuance ones, the device pipeline's and the run's own
 * refusals before any device is contacted. A result read back from a file is not proof its class is one of these.
 */
export type FailureClass =
  | IssuanceFailureClass
  | 'invalid' // the device file, its route or the route's options are invalid (ottr validate): nothing was tried
  | 'unsupported' // the route's platform has no driver yet
  | 'secret_refused' // the device or route asks for a secret its grants do not allow
  | 'configuration' // the run could not be wired (a secret unset, a roots file unreadable, DNS delegation)
  | 'device_unreachable' // connecting or logging in to the device's management API failed
  | 'precheck_failed' // the device answered but refused the precheck (state, version, permissions)
  | 'device_error' // the device could not make a key and CSR
  | 'install_failed' // the device refused the new certificate: nothing to roll back
  | 'activate_failed' // the certificate is on the device but could not be put into service: rolled back
  | 'verify_failed'; // the device did not serve the new certificate, enough handshakes in a row, in time

/** Whether a result is a failure (failed, or failed and rolled back): what notifications and exit codes count. */
export function isFailure(result: Pick<RotationResult, 'status'>): boolean {
  return result.status === 'failed' || result.status === 'rolled_back';
}
