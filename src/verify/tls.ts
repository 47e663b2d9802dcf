import { X509Certificate } from 'node:crypto';
import { connect, type PeerCertificate } from 'node:tls';

/** Where the device serves the certificate being rotated, for the TLS verification. */
export interface TlsEndpoint {
  host: string;
  port: number;
  servername: string;
}

/** The chain a TLS server presents for an SNI name, leaf first, as it is sent (nothing is trusted yet). */
export function fetchServedChain(endpoint: TlsEndpoint, timeoutMs = 10_000): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: endpoint.host,
      port: endpoint.port,
      servername: endpoint.servername,
      rejectUnauthorized: false, // trust is decided below against the authority's roots, not the system store
      timeout: timeoutMs,
    });
    socket.once('secureConnect', () => {
      const chain: X509Certificate[] = [];
      let cert: PeerCertificate | undefined = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert?.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        chain.push(new X509Certificate(cert.raw));
        cert = (cert as { issuerCertificate?: PeerCertificate }).issuerCertificate;
      }
      socket.end();
      resolve(chain);
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no TLS handshake with ${endpoint.host}:${endpoint.port} within ${timeoutMs} ms`));
    });
    socket.once('error', (error) =>
      reject(
        new Error(
          `TLS to ${endpoint.host}:${endpoint.port} failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`,
        ),
      ),
    );
  });
}

export interface Expected {
  serial: string;
  /** DER SubjectPublicKeyInfo of the CSR. */
  spki: Uint8Array;
  names: string[];
  /** Trust anchors of the authority (PEM). */
  rootsPem: string[];
  notBefore: string;
  notAfter: string;
  /** Accepted issuer organisation values; empty or absent = any. */
  expectedIssuers?: string[];
  now?: Date;
}

/** How far ahead of our clock a device's certificate may start. */
const CLOCK_SKEW_MS = 60_000;

/** A serial as hex digits only: lowercase, without colons or leading zeros. */
export const normaliseSerial = (s: string) => s.toLowerCase().replace(/:/g, '').replace(/^0+/, '');

/** The issuer's organisation (O=), when it has one. */
export const issuerOrganisation = (cert: X509Certificate) => /(?:^|\n)O=([^\n]+)/.exec(cert.issuer)?.[1];

/**
 * Whether the certificate covers `name`. A wildcard must be in it as a wildcard (a certificate for the one host
 * under it does not cover it) and be one clients honour (checked through a host under it: OpenSSL honours no
 * "*.com").
 */
export function coversName(cert: X509Certificate, name: string): boolean {
  if (!name.startsWith('*.')) return cert.checkHost(name) !== undefined;
  // Node lists them as "DNS:a, DNS:b".
  const sans = (cert.subjectAltName ?? '').split(', ').map((san) => san.toLowerCase());
  return (
    sans.includes(`dns:${name.toLowerCase()}`) && cert.checkHost(`ottr-check${name.slice(1)}`) !== undefined
  );
}

/** Every way the served chain differs from what was issued; empty when the device serves the new certificate. */
export function servedChainProblems(chain: X509Certificate[], expected: Expected): string[] {
  const leaf = chain[0];
  if (!leaf) return ['the device presented no certificate'];
  const problems: string[] = [];
  if (normaliseSerial(leaf.serialNumber) !== normaliseSerial(expected.serial)) {
    problems.push(
      `the device serves serial ${leaf.serialNumber.toLowerCase()}, not the issued ${expected.serial}`,
    );
  }
  const spki = leaf.publicKey.export({ type: 'spki', format: 'der' });
  if (!Buffer.from(expected.spki).equals(spki))
    problems.push("the served certificate does not carry the key from the device's CSR");
  for (const name of expected.names)
    if (!coversName(leaf, name)) problems.push(`the served certificate does not cover ${name}`);
  const now = (expected.now ?? new Date()).getTime();
  if (Date.parse(leaf.validFrom) > now + CLOCK_SKEW_MS)
    problems.push(`the served certificate is not valid before ${leaf.validFrom}`);
  if (Date.parse(leaf.validTo) <= now) problems.push(`the served certificate expired at ${leaf.validTo}`);
  if (
    Math.abs(Date.parse(leaf.validTo) - Date.parse(expected.notAfter)) > 1000 ||
    Math.abs(Date.parse(leaf.validFrom) - Date.parse(expected.notBefore)) > 1000
  ) {
    problems.push("the served certificate's validity differs from the issued one");
  }
  const issuers = expected.expectedIssuers ?? [];
  if (issuers.length > 0) {
    const org = issuerOrganisation(leaf);
    if (!org || !issuers.includes(org))
      problems.push(`the issuer organisation ${org ?? '(none)'} is not one of ${issuers.join(', ')}`);
  }
  problems.push(
    ...chainProblems(
      chain,
      expected.rootsPem.map((pem) => new X509Certificate(pem)),
      new Date(now),
    ),
  );
  return problems;
}

/**
 * The chain must link leaf → intermediates → one of the roots by signatures, each within its validity at `now`
 * (the leaf's own validity is the caller's to judge; every intermediate on the path and the root reached are
 * checked here), a certificate starting up to `skewMs` after `now` counting as valid.
 */
export function chainProblems(
  chain: X509Certificate[],
  roots: X509Certificate[],
  now = new Date(),
  skewMs = CLOCK_SKEW_MS,
): string[] {
  const at = now.getTime();
  const problems: string[] = [];
  const checkValidity = (cert: X509Certificate, what: string) => {
    if (Date.parse(cert.validFrom) > at + skewMs || Date.parse(cert.validTo) <= at)
      problems.push(
        `${what} ${cert.subject.replace(/\n/g, ', ')} is not valid now (valid from ${cert.validFrom} to ${cert.validTo})`,
      );
  };
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    if (i > 0) checkValidity(cert, 'the intermediate');
    const root = roots.find((r) => cert.checkIssued(r) && cert.verify(r.publicKey));
    if (root) {
      checkValidity(root, 'the root');
      return problems;
    }
    const next = chain[i + 1];
    if (!next) break;
    if (!cert.checkIssued(next) || !cert.verify(next.publicKey)) {
      return [...problems, `the served chain is broken after ${cert.subject.replace(/\n/g, ', ')}`];
    }
  }
  if (chain.length > 0 && roots.some((r) => r.fingerprint256 === chain[chain.length - 1]!.fingerprint256))
    return problems;
  return [
    ...problems,
    'the served chain does not lead to a root of the authority (is the intermediate missing?)',
  ];
}
