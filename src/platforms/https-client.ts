import { createHash, X509Certificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { Device } from '../model/types.ts';
import { chainProblems } from '../verify/tls.ts';

export interface HttpsTrust {
  /** Base64 SHA-256 of the SubjectPublicKeyInfo the management interface may present (connection.tls_spki_sha256). */
  spkiPin?: string;
  /** Roots a presented chain may lead to (the authority's, after the first rotation); Node's roots are always accepted. */
  roots: string[];
  /** certificate_validation: false → only the pin or `roots` are accepted, not the public roots. */
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

/**
 * Whether a management interface may be talked to: its key matches the pin, or its chain leads to trusted
 * roots and names the host. Never trust on first use.
 */
export function trustProblem(
  cert: PeerCertificate,
  servername: string,
  trust: HttpsTrust,
  publicRoots: readonly string[],
): string | undefined {
  const chain = chainOf(cert);
  const leaf = chain[0];
  if (!leaf) return 'no certificate presented';
  const spki = spkiSha256(leaf);
  if (trust.spkiPin && spki === trust.spkiPin) return undefined;
  const roots = [...trust.roots, ...(trust.validate ? publicRoots : [])].map(
    (pem) => new X509Certificate(pem),
  );
  if (chainProblems(chain, roots).length === 0 && leaf.checkHost(servername) !== undefined) return undefined;
  return `the management certificate (SPKI ${spki}) is neither pinned nor issued by a trusted root for ${servername}`;
}

/** A TLS connection whose peer passed `trustProblem` — checked before a single byte of the request is sent. */
function trustedSocket(
  host: string,
  port: number,
  servername: string,
  trust: HttpsTrust,
  publicRoots: readonly string[],
  timeoutMs: number,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername, rejectUnauthorized: false, timeout: timeoutMs });
    socket.once('secureConnect', () => {
      const problem = trustProblem(socket.getPeerCertificate(true), servername, trust, publicRoots);
      if (problem) {
        socket.destroy();
        reject(new Error(problem));
      } else {
        socket.setTimeout(0);
        resolve(socket);
      }
    });
    socket.once('timeout', () =>
      socket.destroy(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`)),
    );
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
  publicRoots: readonly string[],
): Promise<HttpsResponse> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const socket = await trustedSocket(
    options.host,
    options.port,
    options.servername,
    trust,
    publicRoots,
    timeoutMs,
  );
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        method: options.method,
        path: options.path,
        headers: { host: `${options.servername}:${options.port}`, ...options.headers },
        createConnection: () => socket,
        timeout: timeoutMs,
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
    req.on('timeout', () =>
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
      ...(connection.tls_spki_sha256 ? { spkiPin: connection.tls_spki_sha256 } : {}),
      roots: context.trustedRoots ?? [],
      validate: device.certificate_validation !== false,
    },
  };
}

/**
 * The user and password a management API logs in with: the secret that connection.credentials names holds
 * `user:password` (the password may itself contain colons).
 */
export function managementLogin(
  context: { device: Device; secret(name: string): string },
  what: string,
): { user: string; password: string } {
  const name = context.device.connection?.credentials;
  if (!name) throw new Error('connection.credentials must name the secret with user:password');
  const secret = context.secret(name);
  const at = secret.indexOf(':');
  if (at <= 0) throw new Error(`${what} must hold user:password`);
  return { user: secret.slice(0, at), password: secret.slice(at + 1) };
}
