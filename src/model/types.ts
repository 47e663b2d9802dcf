/**
 * The data model (README, "The repository"), as TypeScript types. Field names are the contract with users' repositories:
 * the JSON Schemas in `schemas/` describe the same shapes for editors and validation.
 */

/** What automation records about the certificate a device currently serves. */
export interface CertificateRecord {
  not_after: string;
  not_before?: string;
  serial?: string;
  issuer?: string;
  sha256_fingerprint?: string;
  rotated_at?: string;
  /** ARI (RFC 9773) suggested renewal window, as last reported by the CA. */
  renewal_window?: { start: string; end: string };
}

/** How to reach the device. Secrets are referenced by NAME, never by value. */
export interface Connection {
  port?: number;
  /** Where the device serves the rotated certificate, for verification (default: port, or 443 for Linux). */
  tls_port?: number;
  /** Name of the secret holding the credential (API key, password or SSH private key). */
  credentials?: string;
  /** SSH only: name of the secret holding the private key's passphrase. */
  passphrase_credentials?: string;
  username?: string;
  /** SSH only: pinned host key fingerprint, `SHA256:<base64>`. */
  ssh_host_key?: string;
  /** Optional pin of the management TLS key (base64 SHA-256 of the SubjectPublicKeyInfo). */
  tls_spki_sha256?: string;
  sudo?: boolean;
  /** SSM only: the managed instance id (`i-…` or `mi-…`). */
  instance_id?: string;
  /** SSM only: find the instance by one tag instead of an id. */
  instance_tag?: { key: string; value: string };
  region?: string;
}

export interface Device {
  system_name: string;
  common_name: string;
  subject_alternative_names?: string[];
  host_platform: string;
  os_version: string;
  device_model?: string;
  data_center: string;
  ip_address?: string;
  certificate_authority: string;
  certificate_validation?: boolean;
  connection?: Connection;
  owner?: string;
  labels?: Record<string, string>;
  /** Devices that deliberately hold the same names (an HA pair); each of them must list this one too. */
  shares_names_with?: string[];
  certificate?: CertificateRecord;
}

export interface RouteMatch {
  host_platform?: string;
  os_version?: string;
  certificate_authority?: string;
  device_model?: string[];
  data_center?: string;
}

export interface Route {
  name: string;
  match: RouteMatch;
  /** The platform driver that rotates matching devices (a folder under src/platforms). */
  platform: string;
  options?: Record<string, unknown>;
}

export interface RoutesFile {
  routes: Route[];
}

export interface KeyPolicy {
  type: 'rsa' | 'ecdsa';
  size?: number;
  curve?: 'P-256' | 'P-384';
}

export interface Authority {
  directory: string;
  staging_directory?: string;
  account_key_secret: string;
  eab?: { kid_secret: string; hmac_secret: string };
  profile?: string;
  expected_issuers?: string[];
  key?: KeyPolicy;
  /** A fraction of the lifetime left (`"1/3"`, `0.33`) or a duration (`"30d"`). Default `"1/3"`. */
  renew_before?: string | number;
  rate_limits?: { orders_per_3h?: number; certificates_per_domain_per_week?: number };
  ari?: boolean;
  /** PEM file, relative to the repository root, with the roots served chains must lead to. */
  roots_file?: string;
}

export interface DnsSettings {
  provider: 'route53';
  delegate_zone: string;
  hosted_zone_id: string;
  alias?: { check_cnames?: boolean };
  propagation?: {
    check?: 'authoritative' | 'doh' | 'both';
    doh_url?: string;
    timeout?: string;
    nameservers?: string[];
  };
  /** Recursive resolvers for the CNAME check and NS lookups; default: the runner's. */
  resolvers?: string[];
}

export type SecretPurpose =
  | 'device_credential'
  | 'acme_account'
  | 'eab'
  | 'notification'
  | 'events'
  | 'github_app';

/** One secret the repository uses: what it is for and, for device credentials, who may use it. */
export interface SecretDeclaration {
  purpose: SecretPurpose;
  /** The data centers whose jobs may receive it (required for device credentials; default: all). */
  data_centers?: string[];
  /** Device credentials only: the platform drivers that may send it. */
  platforms?: string[];
  /** Device credentials only: the routing rules whose devices may use it. */
  routes?: string[];
  description?: string;
}

/** The DNS names one data center's devices may request. */
export interface NamePolicy {
  /** A suffix covers itself and every name below it. */
  suffixes: string[];
  /** Whether `*.<name>` may be requested (default false). */
  wildcards?: boolean;
}

export interface Settings {
  authorities: Record<string, Authority>;
  dns: DnsSettings;
  runners: { default?: string[]; by_data_center?: Record<string, string[]> };
  secrets: Record<string, SecretDeclaration>;
  names?: Record<string, NamePolicy>;
  /** CIDR blocks per data center that its devices' ip_address must lie in. */
  networks?: Record<string, string[]>;
  management_trust?: { authorities?: string[]; roots_files?: string[] };
  ssm?: { instance_tags?: Record<string, { key: string; value?: string }[]> };
  limits?: { max_parallel?: number; max_jobs?: number; shard_concurrency?: number; timeout?: string };
  notifications?: { slack_webhook_secret?: string; github_issues?: boolean; labels?: string[] };
  events?: { repository_dispatch?: boolean; webhook_url_secret?: string; webhook_signing_secret?: string };
}
