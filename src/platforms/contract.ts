import type { Device, KeyPolicy, Route } from '../model/types.ts';
import type { TlsEndpoint } from '../verify/tls.ts';

/**
 * The one contract every platform driver implements (src/platforms/<name>/). The pipeline in src/rotate calls
 * these in order — precheck, generateCsr, install, activate, then cleanup after verification or rollback after
 * a failure — and never sees a private key: drivers return CSRs and receipts, never keys.
 */
export interface PlatformDriver<Options = unknown> {
  readonly name: string;
  connect(context: DriverContext<Options>): Promise<DriverSession>;
}

export interface DriverContext<Options = unknown> {
  device: Device;
  route: Route;
  /** The route's options as the platform's manifest read them once: defaults filled in, durations in ms. */
  options: Options;
  /**
   * Reads a secret by the NAME the inventory gives (connection.credentials, …). No message a driver writes (log
   * line, error) carries any part of the value: messages name the secret instead.
   */
  secret(name: string): string;
  /**
   * Masks a value derived from a credential (a PAN-OS API key from keygen, an F5 auth token, a Lighthouse
   * session…): drivers call it the moment they parse one, before anything else happens (core.setSecret under
   * Actions).
   */
  mask?(value: string): void;
  log(message: string): void;
  signal: AbortSignal;
  /**
   * The only roots a management interface's certificate may chain to when its key is not pinned: those the
   * settings grant for management (the device's authority's roots_file, settings.management_trust). Never the
   * public bundle; empty or absent → only the pin (connection.tls_spki_sha256) is trusted.
   */
  trustedRoots?: string[];
  /** Sees every byte the driver receives from the device (audits: no private key may ever arrive). */
  audit?(received: string): void;
}

/** What install did, so activate, rollback and cleanup know exactly what to touch. */
export interface InstallReceipt {
  /** Driver-specific references (file paths, certificate names on the device, profile names…). */
  [key: string]: unknown;
}

export interface CsrRequest {
  /** Every name, common name first. */
  names: string[];
  key: KeyPolicy;
  /** Unique per rotation, safe as a file or object name on the device ([a-z0-9-]). */
  rotationId: string;
}

export interface DriverSession {
  /** Reachability and credentials; throws with a clear message when the device cannot be rotated. */
  precheck(): Promise<void>;
  /** The device generates a new key (kept on the device) and returns a CSR for every name. */
  generateCsr(request: CsrRequest): Promise<string>;
  /** Puts the full chain next to the new key; the previous certificate stays in place and in use. */
  install(chainPem: string, request: CsrRequest): Promise<InstallReceipt>;
  /** Switches the service to the new key and chain (commit, profile update, reload…). */
  activate(receipt: InstallReceipt): Promise<void>;
  /** Restores the previous key and chain and re-activates them. */
  rollback(receipt: InstallReceipt): Promise<void>;
  /** After verification passed: removes the previous certificate and key. */
  cleanup(receipt: InstallReceipt): Promise<void>;
  /** After a failure before install: removes the unused new key. */
  discard(request: CsrRequest): Promise<void>;
  tlsEndpoint(): TlsEndpoint;
  close(): Promise<void>;
}
