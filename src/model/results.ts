/** One device's outcome of one run: DESIGN.md's result file, uploaded as an artifact named after the device. */
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
  error?: { phase: string; class: string; message: string };
  rollback?: { restored: boolean; message: string };
  warnings?: string[];
  dry_run?: boolean;
  run_url?: string;
}

export const RESULT_SCHEMA = 'ottr.result/v1';
