import { createHash, X509Certificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { isIPv6, type Socket } from 'node:net';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { Device } from '../../model/types.ts';
import { proxyFor } from '../../net/proxy.ts';
import { openTunnel } from '../../net/tunnel.ts';

/**
 * Whom a management interface is trusted as — explicitly, never by Node's public bundle, never on first use:
 * its key is pinned, or (when `validate`) its chain leads by signature to one of `roots` and its leaf names the
 * host.
 */
/** The `connection` fields every management-API (HTTPS) platform reads. */
export const HTTPS_CONNECTION = ['port', 'tls_port', 'credentials', 'username', 'tls_spki_sha256'] as const;

export interface HttpsTrust {
  /**
   * Base64 SHA-256 SubjectPublicKeyInfo keys the management interface may present: connection.tls_spki_sha256,
   * and, once this session installed a certificate, that certificate's key (made on the device for this
   * rotation's CSR: only the device holds it), so the session still reaches a device that switched its management
   * certificate. The only trust when `validate` is false.
   */
  spkiPins: string[];
  /** Exactly the roots settings grant for management (DriverContext.trustedRoots); never the public bundle. */
  roots: string[];
  /** certificate_validation: false → only `spkiPins`; `roots` are not consulted. */
  validate: boolean;
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function chainOf(cert: PeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let c: PeerCertificate | undefined = cert;
  while (c?.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    chain.push(new X509Certificate(c.raw));
    c = (c as { issuerCertificate?: PeerCertificate }).issuerCertificate;
  }
  return chain;
}

/** Base64 SHA-256 of a certificate's SubjectPublicKeyInfo: the form connection.tls_spki_sha256 pins. */
export function spkiSha256(cert: X509Certificate): string {
  return createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
}

const subject = (cert: X509Certificate) => cert.subject.replace(/\n/g, ', ');

/**
 * Why `chain` (leaf first, as presented) does not lead to one of `roots`, or undefined when it does: every link
 * verified by its signature, every issuer a CA (basic constraints) allowed to sign certificates (checkIssued
 * checks the names and the key usage). A certificate that is itself one of `roots` ends the chain.
 */
function chainProblem(chain: X509Certificate[], roots: X509Certificate[]): string | undefined {
  const issues = (cert: X509Certificate, issuer: X509Certificate) =>
    issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    if (roots.some((root) => root.fingerprint256 === cert.fingerprint256)) return undefined;
    if (roots.some((root) => issues(cert, root))) return undefined;
    const next = chain[i + 1];
    if (!next) break;
    if (!issues(cert, next)) return `its chain is broken after ${subject(cert)}`;
  }
  return 'its chain leads to no root the settings grant for management';
}

/**
 * Whether a management interface may be talked to, or why not: its key is one of the pins, or — when
 * certificate validation is on — its chain leads by signature to one of exactly the roots granted for management
 * and its leaf names the host. Nothing else: not Node's public bundle, not trust on first use.
 */
export function trustProblem(
  cert: PeerCertificate,
  servername: string,
  trust: HttpsTrust,
): string | undefined {
  const chain = chainOf(cert);
  const leaf = chain[0];
  if (!leaf) return 'no certificate presented';
  const spki = spkiSha256(leaf);
  if (trust.spkiPins.includes(spki)) return undefined;
  let why: string | undefined;
  if (!trust.validate)
    why = 'certificate_validation is false, so only the pinned key (connection.tls_spki_sha256) is accepted';
  else if (trust.roots.length === 0) why = 'its key is not pinned and no root is granted for management';
  else
    why =
      chainProblem(
        chain,
        trust.roots.map((pem) => new X509Certificate(pem)),
      ) ?? (leaf.checkHost(servername) === undefined ? `it does not name ${servername}` : undefined);
  if (why === undefined) return undefined;
  return `the management certificate (SPKI ${spki}) is not trusted for ${servername}: ${why}`;
}

/** From now on the key of `leafPem` (a certificate this session installed) is trusted too: see HttpsTrust. */
export function trustInstalled(trust: HttpsTrust, leafPem: string): void {
  const pin = spkiSha256(new X509Certificate(leafPem));
  if (!trust.spkiPins.includes(pin)) trust.spkiPins.push(pin);
}

/**
 * A TLS connection whose peer passed `trustProblem` — checked before a single byte of the request is sent —
 * through the proxy HTTPS_PROXY names unless NO_PROXY exempts the device (src/net/proxy.ts).
 */
function trustedSocket(
  host: string,
  port: number,
  servername: string,
  trust: HttpsTrust,
  timeoutMs: number,
): Promise<TLSSocket> {
  const target = new URL(`https://${isIPv6(host) ? `[${host}]` : host}:${port}`);
  const proxy = proxyFor(target);
  const tunnel = proxy ? openTunnel(proxy, host, port, timeoutMs) : Promise.resolve(undefined);
  return tunnel.then((through) => handshake(through, host, port, servername, trust, timeoutMs));
}

/** The TLS handshake of trustedSocket, on a proxy's tunnel when there is one, else on a new connection. */
function handshake(
  through: Socket | undefined,
  host: string,
  port: number,
  servername: string,
  trust: HttpsTrust,
  timeoutMs: number,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      ...(through ? { socket: through } : { host, port }),
      servername,
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    const handshakeTimeout = () =>
      socket.destroy(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`));
    socket.once('timeout', handshakeTimeout);
    socket.once('secureConnect', () => {
      socket.off('timeout', handshakeTimeout);
      const problem = trustProblem(socket.getPeerCertificate(true), servername, trust);
      if (problem) {
        socket.destroy();
        reject(new Error(problem));
      } else resolve(socket); // httpsCall arms the socket's timeout again for the request
    });
    socket.once('error', reject);
  });
}

/** One HTTPS request with explicit trust; the body is returned whole. Credentials travel in headers only. */
export async function httpsCall(
  options: {
    host: string;
    port: number;
    servername: string;
    method: string;
    path: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    timeoutMs?: number;
  },
  trust: HttpsTrust,
): Promise<HttpsResponse> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const socket = await trustedSocket(options.host, options.port, options.servername, trust, timeoutMs);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        method: options.method,
        path: options.path,
        headers: { host: `${options.servername}:${options.port}`, ...options.headers },
        createConnection: () => socket,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          socket.end();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      },
    );
    // On the socket itself: http's `timeout` option is never armed for a socket that is connected already, so a
    // listener that took the handshake and then said nothing held the job until GitHub's job timeout.
    socket.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`no answer from ${options.host}:${options.port} within ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Where and how a driver reaches a device's HTTPS management API, from the inventory and the driver context. */
export interface ManagementApi {
  host: string;
  port: number;
  servername: string;
  trust: HttpsTrust;
}

export function managementApi(context: { device: Device; trustedRoots?: string[] }): ManagementApi {
  const { device } = context;
  const connection = device.connection ?? {};
  return {
    host: device.ip_address ?? device.common_name,
    port: connection.port ?? 443,
    servername: device.common_name,
    trust: {
      spkiPins: connection.tls_spki_sha256 ? [connection.tls_spki_sha256] : [],
      roots: context.trustedRoots ?? [],
      validate: device.certificate_validation !== false,
    },
  };
}

/**
 * The user and password a management API logs in with: the secret that connection.credentials names holds
 * `user:password` (the password may itself contain colons). `name` is what messages say instead of the user.
 */
export function managementLogin(
  context: { device: Device; secret(name: string): string },
  what: string,
): { name: string; user: string; password: string } {
  const name = context.device.connection?.credentials;
  if (!name) throw new Error('connection.credentials must name the secret with user:password');
  const secret = context.secret(name);
  const at = secret.indexOf(':');
  if (at <= 0) throw new Error(`the secret ${name} (${what}) must hold user:password`);
  return { name, user: secret.slice(0, at), password: secret.slice(at + 1) };
}
