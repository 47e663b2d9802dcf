import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import * as acme from 'acme-client';
import { selfSignedPems } from '../self-signed.ts';

type Json = Record<string, unknown>;

export type LighthouseFault =
  /** Every login is refused (401). */
  | 'authFail'
  /** The CSR generation answers HTTP 200 with an error array (and generates nothing). */
  | 'errorWith200OnCsr'
  /** The certificate upload answers 500 with the vendor's error shape; nothing changes. */
  | 'errorOnCert'
  /** The connection is dropped during the certificate upload; nothing changes. */
  | 'dropOnCert'
  /** After the certificate upload the web server comes back still serving the previous certificate. */
  | 'restartFails'
  /** The web server restart takes at least 2 s (for the polling test). */
  | 'slowRestart'
  /**
   * Answers carry a `key` field with a decoy private key (a fresh key unrelated to anything served), as the RAML
   * example shows; the driver must drop it. The simulator's real keys never leave it, even then.
   */
  | 'keyInAnswer';

interface Served {
  keyPem: string;
  chainPem: string;
}

interface PendingCsr {
  keyPem: string;
  csrPem: string;
  commonName: string;
  keyLength: number;
  sans: string[];
}

const BASE = '/api/v3.7';
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const DNS_NAME = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i;

const vendorError = (type: number, code: number, text: string, args: Json = {}) => ({
  type,
  code,
  text,
  args,
  level: 1,
});

/**
 * An Opengear Lighthouse REST API v3.7 simulator: sessions (`Authorization: Token …`), `services/https` with one
 * certificate slot, a CSR generated inside it with a new RSA key (the current certificate stays in use until a
 * certificate for that key is uploaded), the CSR downloaded with `?zip=true`, and a certificate upload that
 * must match the pending key, after which the web server restarts: new connections are dropped for `restartMs`,
 * every session is forgotten, and the new certificate is served. Errors have the vendor's
 * `{"error":[{type,code,text,args,level}]}` shape. No private key ever leaves it.
 */
export class LighthouseSimulator {
  private server: Server | undefined;
  port = 0;
  readonly faults = new Set<LighthouseFault>();
  /** false: the CSR dialog has no SAN field (21.x); `subject_alternative_names` is ignored. */
  sanSupport = true;
  restartMs = 300;
  /** The authority (host:port) the CSR location names; by default this simulator's own name and port. */
  csrUrlAuthority: string | undefined;
  readonly log: string[] = [];
  restarts = 0;
  private restartingUntil = 0;
  private readonly sessions = new Set<string>();
  /** Every session a login issued, in order (tests check each was masked and none reached a message). */
  readonly issuedSessions: string[] = [];
  private readonly sockets = new Set<Socket>();
  /** What services/https holds. */
  private configured: Served | undefined;
  /** What the web server presents (differs from `configured` only during or after a failed restart). */
  private served: Served | undefined;
  private pending: PendingCsr | undefined;

  constructor(
    readonly hostname: string,
    private readonly users: Record<string, string>,
  ) {}

  async start(): Promise<number> {
    const factory = selfSignedPems([this.hostname]);
    this.configured = factory;
    this.served = factory;
    this.server = createServer({ key: factory.keyPem, cert: factory.chainPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, res, Buffer.concat(chunks)).catch((e: Error) =>
          this.fail(res, 500, vendorError(1, 1, `internal error: ${e.message}`)),
        );
      });
    });
    // A restarting web server accepts nothing: the connection is dropped before the TLS handshake.
    this.server.on('connection', (s: Socket) => {
      if (Date.now() < this.restartingUntil) {
        this.log.push('REFUSED connection (web server restarting)');
        s.destroy();
        return;
      }
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The leaf the web server presents now. */
  servedCertificate(): X509Certificate {
    return new X509Certificate(this.served!.chainPem.match(PEM_CERTIFICATE)![0]!);
  }

  /** The leaf services/https holds. */
  configuredCertificate(): X509Certificate {
    return new X509Certificate(this.configured!.chainPem.match(PEM_CERTIFICATE)![0]!);
  }

  hasPendingCsr(): boolean {
    return this.pending !== undefined;
  }

  activeSessions(): number {
    return this.sessions.size;
  }

  private send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: ServerResponse, status: number, ...errors: ReturnType<typeof vendorError>[]): void {
    this.send(res, status, { error: errors });
  }

  private httpsView(): Json {
    const leaf = this.configuredCertificate();
    const subject = (field: string) =>
      new RegExp(`(?:^|\\n)${field}=([^\\n]*)`).exec(leaf.subject)?.[1] ?? '';
    const view: Json = {
      valid_from: new Date(leaf.validFrom).toISOString(),
      valid_to: new Date(leaf.validTo).toISOString(),
      common_name: subject('CN'),
      organization: subject('O'),
      organization_unit: subject('OU'),
      locality: subject('L'),
      state: subject('ST'),
      country: subject('C'),
      email: '',
      key_length: leaf.publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
      cert: this.configured!.chainPem,
      csr: this.pending
        ? {
            csr: this.csrLocation(),
            common_name: this.pending.commonName,
            key_length: this.pending.keyLength,
            ...(this.sanSupport ? { subject_alternative_names: this.pending.sans } : {}),
          }
        : {},
    };
    if (this.faults.has('keyInAnswer')) {
      view.key = generateKeyPairSync('rsa', { modulusLength: 1024 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
    }
    return { https: view };
  }

  private csrLocation(): string {
    return `https://${this.csrUrlAuthority ?? `${this.hostname}:${this.port}`}${BASE}/services/https?zip=true`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body: Buffer) {
    const url = new URL(req.url ?? '/', 'https://x');
    const path = url.pathname;
    // The vendor's logout names the session in the path; the log never holds one.
    this.log.push(`${req.method} ${path.replace(/^(\/api\/v3\.7\/sessions\/).+$/, '$1…')}${url.search}`);
    let json: Json = {};
    if (body.length > 0) {
      try {
        json = JSON.parse(body.toString('utf8')) as Json;
      } catch {
        return this.fail(res, 400, vendorError(2, 2, 'Request body is not valid JSON.'));
      }
    }
    if (req.method === 'POST' && path === `${BASE}/sessions`) return this.login(res, json);
    const auth = /^Token (\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    if (!auth || !this.sessions.has(auth))
      return this.fail(res, 401, vendorError(7, 40, 'Authentication required: no valid session'));
    const logout = /^\/api\/v3\.7\/sessions\/([^/]+)$/.exec(path);
    if (req.method === 'DELETE' && logout) {
      if (!this.sessions.delete(decodeURIComponent(logout[1]!)))
        return this.fail(res, 400, vendorError(7, 42, 'Session not found'));
      return this.send(res, 200, {});
    }
    if (path !== `${BASE}/services/https`)
      return this.fail(res, 404, vendorError(2, 4, `No such resource: ${path}`));
    if (req.method === 'GET' && url.searchParams.get('zip') === 'true') {
      if (!this.pending) return this.fail(res, 400, vendorError(2, 20, 'No certificate signing request'));
      return this.send(res, 200, this.pending.csrPem, 'application/x-pem-file');
    }
    if (req.method === 'GET') return this.send(res, 200, this.httpsView());
    if (req.method === 'PUT') return this.put(req, res, json);
    return this.fail(res, 405, vendorError(2, 5, `${req.method} is not supported on ${path}`));
  }

  private login(res: ServerResponse, json: Json) {
    const { username, password } = json as { username?: unknown; password?: unknown };
    if (
      this.faults.has('authFail') ||
      typeof username !== 'string' ||
      typeof password !== 'string' ||
      this.users[username] !== password
    )
      return this.fail(res, 401, vendorError(7, 41, 'Invalid login credentials'));
    const session = randomBytes(16).toString('hex');
    this.sessions.add(session);
    this.issuedSessions.push(session);
    this.send(res, 200, { state: 'authenticated', password_expired: false, session, user: username });
  }

  private async put(req: IncomingMessage, res: ServerResponse, json: Json) {
    const https = json.https as Json | undefined;
    if (!https || typeof https !== 'object')
      return this.fail(
        res,
        400,
        vendorError(2, 3, 'Missing https object', { uuid: 'root-1-services_https' }),
      );
    if ('key' in https)
      return this.fail(
        res,
        400,
        vendorError(2, 14, 'Private key upload is not supported by this lab', {
          uuid: 'root-1-services_https_key',
        }),
      );
    if (https.cert !== undefined) return this.installCertificate(req, res, String(https.cert));
    if (https.csr !== undefined && https.csr !== null) return this.generateCsr(res, https.csr as Json);
    // A PUT without "csr" cancels the pending CSR and its key.
    this.pending = undefined;
    return this.send(res, 200, this.httpsView());
  }

  private async generateCsr(res: ServerResponse, csr: Json) {
    if (this.faults.has('errorWith200OnCsr'))
      return this.fail(res, 200, vendorError(1, 33, 'Push command failed'));
    const field = (name: string) => (typeof csr[name] === 'string' ? (csr[name] as string) : '');
    const uuid = (name: string) => ({ uuid: `root-1-services_https_csr_${name}` });
    const problems: ReturnType<typeof vendorError>[] = [];
    if (csr.csr !== 'new') problems.push(vendorError(2, 14, 'Expected "new".', uuid('csr')));
    const commonName = field('common_name');
    if (!DNS_NAME.test(commonName))
      problems.push(
        vendorError(2, 14, 'String did not conform to the expected format.', uuid('common_name')),
      );
    const keyLength = Number(csr.key_length ?? 2048);
    if (![2048, 4096].includes(keyLength))
      problems.push(vendorError(2, 15, 'Value is not one of the allowed values.', uuid('key_length')));
    if (field('country') && !/^[A-Z]{2}$/.test(field('country')))
      problems.push(vendorError(2, 14, 'String did not conform to the expected format.', uuid('country')));
    if (field('email') && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(field('email')))
      problems.push(vendorError(2, 14, 'String did not conform to the expected format.', uuid('email')));
    let sans: string[] = [];
    if (this.sanSupport && csr.subject_alternative_names !== undefined) {
      const list = csr.subject_alternative_names;
      if (!Array.isArray(list) || !list.every((n) => typeof n === 'string' && DNS_NAME.test(n)))
        problems.push(
          vendorError(
            2,
            14,
            'String did not conform to the expected format.',
            uuid('subject_alternative_names'),
          ),
        );
      else sans = list as string[];
    }
    if (problems.length > 0)
      return this.fail(res, 500, ...problems, vendorError(1, 33, 'Push command failed'));

    const keyPem = generateKeyPairSync('rsa', { modulusLength: keyLength })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    // acme-client always adds the common name as a SAN; without SAN support that is the CSR's only name.
    const [, csrPem] = await acme.crypto.createCsr(
      {
        commonName,
        altNames: [...sans],
        ...(field('organization') ? { organization: field('organization') } : {}),
        ...(field('organization_unit') ? { organizationUnit: field('organization_unit') } : {}),
        ...(field('locality') ? { locality: field('locality') } : {}),
        ...(field('state') ? { state: field('state') } : {}),
        ...(field('country') ? { country: field('country') } : {}),
        ...(field('email') ? { emailAddress: field('email') } : {}),
      },
      keyPem,
    );
    this.pending = { keyPem, csrPem: csrPem.toString(), commonName, keyLength, sans };
    this.send(res, 200, this.httpsView());
  }

  private installCertificate(req: IncomingMessage, res: ServerResponse, pem: string) {
    if (this.faults.has('dropOnCert')) {
      req.socket.destroy();
      return;
    }
    if (this.faults.has('errorOnCert')) return this.fail(res, 500, vendorError(1, 33, 'Push command failed'));
    const uuid = { uuid: 'root-1-services_https_cert' };
    const pems = pem.match(PEM_CERTIFICATE) ?? [];
    if (pems.length === 0)
      return this.fail(res, 400, vendorError(2, 14, 'String did not conform to the expected format.', uuid));
    if (!this.pending)
      return this.fail(res, 400, vendorError(2, 21, 'No certificate signing request is pending', uuid));
    const chain = pems.map((p) => new X509Certificate(p));
    if (!chain[0]!.checkPrivateKey(createPrivateKey(this.pending.keyPem)))
      return this.fail(
        res,
        400,
        vendorError(2, 22, 'Certificate does not match the pending signing request', uuid),
      );
    for (let i = 0; i + 1 < chain.length; i++)
      if (!chain[i]!.checkIssued(chain[i + 1]!))
        return this.fail(res, 400, vendorError(2, 23, 'Certificate chain is not in order', uuid));
    this.configured = { keyPem: this.pending.keyPem, chainPem: `${pems.join('\n')}\n` };
    this.pending = undefined;
    res.on('finish', () => this.restart());
    this.send(res, 200, this.httpsView());
  }

  /** The web server restarts with the configured certificate; sessions do not survive it. */
  private restart(): void {
    this.restarts++;
    const ms = this.faults.has('slowRestart') ? Math.max(this.restartMs, 2000) : this.restartMs;
    this.restartingUntil = Date.now() + ms;
    this.sessions.clear();
    setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 10);
    setTimeout(() => {
      if (!this.faults.has('restartFails')) this.served = this.configured;
      this.server?.setSecureContext({ key: this.served!.keyPem, cert: this.served!.chainPem });
      this.restartingUntil = 0;
    }, ms);
  }
}
