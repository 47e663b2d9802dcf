import * as x509 from '@peculiar/x509';
import { retryAfterMs } from '../util/retry-after.ts';
import './csr-policy.ts'; // sets the WebCrypto provider @peculiar/x509 uses

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'));
}

/**
 * The RFC 9773 certificate identifier: base64url(AKI keyIdentifier) "." base64url(serial), where the serial is
 * the DER INTEGER's content bytes (a leading zero byte kept or added when the high bit is set).
 */
export function ariCertificateId(certificatePem: string): string {
  const cert = new x509.X509Certificate(certificatePem);
  const aki = cert.getExtension('2.5.29.35') as x509.AuthorityKeyIdentifierExtension | null;
  if (!aki?.keyId) throw new Error('the certificate has no authority key identifier; ARI cannot name it');
  let serial = hexBytes(cert.serialNumber.replace(/^(00)+(?=[0-7])/, ''));
  if ((serial[0] ?? 0) >= 0x80) serial = Uint8Array.from([0, ...serial]);
  return `${base64url(hexBytes(aki.keyId))}.${base64url(serial)}`;
}

export interface RenewalInfo {
  window: { start: string; end: string };
  explanation_url?: string;
  /** When to ask again (from Retry-After), ISO. */
  retry_after?: string;
}

/** Parses a renewalInfo response body and its Retry-After header; undefined when the body is not a valid window. */
export function parseRenewalInfo(
  body: unknown,
  retryAfter: string | null | undefined,
  now: Date,
): RenewalInfo | undefined {
  const window = (body as { suggestedWindow?: { start?: unknown; end?: unknown } } | null)?.suggestedWindow;
  if (typeof window?.start !== 'string' || typeof window.end !== 'string') return undefined;
  const start = Date.parse(window.start);
  const end = Date.parse(window.end);
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return undefined;
  const info: RenewalInfo = {
    window: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
  };
  const url = (body as { explanationURL?: unknown }).explanationURL;
  if (typeof url === 'string') info.explanation_url = url;
  const wait = retryAfterMs(retryAfter, now.getTime());
  if (wait !== undefined && wait > 0) info.retry_after = new Date(now.getTime() + wait).toISOString();
  return info;
}
