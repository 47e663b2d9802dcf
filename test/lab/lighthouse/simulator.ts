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
  | 'keyInAnswer'
  /**
   * The upload is answered HTTP 200 with the unchanged details (the previous certificate, its `valid_from` in
   * OpenSSL's text form) and nothing is installed: a device that does not apply an upload without saying so.
   */
  | 'ignoresUpload'
  /** The login is answered 303, "Redirect to new authentication session", as the RAML documents. */
  | 'loginRedirect'
  /** The login is answered 200 with a session that still awaits a challenge response (not "authenticated"). */
  | 'loginChallenge';

interface Served {
  keyPem: string;
  chainPem: string;
}

interface PendingCsr {
  keyPem: string;
  csrPem: string;
  commonName: string;
  keyLength: number;
  /** The subject fields given, in the RAML's spelling (`org_unit`, `locality`…). */
  subject: Record<string, string>;
  sans: string[];
}

/** The CSR's subject fields in the v3.7 RAML's spelling, and what each is in the CSR's subject. */
const SUBJECT_FIELDS = {
  organization: 'organization',
  org_unit: 'organizationUnit',
  locality: 'locality',
  state: 'state',
  country: 'country',
  email: 'emailAddress',
} as const;

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
 * every session is forgotten, and the new certificate is served. As the RAML says, a PUT without `https.csr`
 * cancels the pending CSR and its key — also a PUT that carries only `https.cert`, whose upload then fails.
 * Errors have the vendor's `{"error":[{type,code,text,args,level}]}` shape. No private key ever leaves it. Every
 * behaviour and its source: BEHAVIOUR.md beside this file.
 */
export class LighthouseSimulator {
  private server: Server | undefined;
  port = 0;
  readonly faults = new Set<LighthouseFault>();
  /**
   * The `https.csr` field a release takes SANs in. Unset (the default): REST v3.7 as its RAML documents it, with
   * no SAN field; the CSR carries the common name only and unknown fields are ignored.
   */
  sanField: string | undefined;
  restartMs = 300;
  /** The authority (host:port) the CSR location names; by default this simulator's own name and port. */
  csrUrlAuthority: string | undefined;
  readonly log: string[] = [];
  /** The `https` object of every PUT of services/https, as received (tests check what the driver sent). */
  readonly puts: Json[] = [];
  /** Every CSR generated, in order. */
  readonly csrs: string[] = [];
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
    // The RAML's example: validity in OpenSSL's text form ("Sep 21 00:39:03 2016 GMT"), which is what
    // X509Certificate.validFrom prints too; the organisational unit is `org_unit`.
    const view: Json = {
      valid_from: leaf.validFrom,
      valid_to: leaf.validTo,
      common_name: subject('CN'),
      country: subject('C'),
      locality: subject('L'),
      org_unit: subject('OU'),
      email: subject('emailAddress'),
      organization: subject('O'),
      key_length: leaf.publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
      cert: this.configured!.chainPem,
      csr: this.pending
        ? {
            csr: this.csrLocation(),
            common_name: this.pending.commonName,
            key_length: this.pending.keyLength,
            ...this.pending.subject,
            ...(this.sanField ? { [this.sanField]: this.pending.sans } : {}),
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
      return this.fail(res, 401, vendorError(7, 43, 'Invalid session ID.'));
    const logout = /^\/api\/v3\.7\/sessions\/([^/]+)$/.exec(path);
    if (req.method === 'DELETE' && logout) {
      const session = decodeURIComponent(logout[1]!);
      if (!this.sessions.delete(session)) return this.send(res, 404, { state: 'unknown', session });
      return this.send(res, 200, { session, success: 'true', state: 'deleted' });
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
    this.issuedSessions.push(session);
    if (this.faults.has('loginRedirect'))
      return this.send(res, 303, {
        sid: session,
        message: `Redirecting to new session at ${BASE}/sessions/${session}`,
      });
    if (this.faults.has('loginChallenge'))
      // Not authenticated yet: the session is good for nothing but a challenge response (PUT sessions/<id>).
      return this.send(res, 200, {
        state: 'challenge',
        password_expired: false,
        session,
        user: username,
        last_challenge: 'Enter the one-time code',
      });
    this.sessions.add(session);
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
    this.puts.push(structuredClone(https));
    const csr = https.csr as Json | undefined | null;
    if (csr && typeof csr === 'object' && csr.csr === 'new') return this.generateCsr(res, csr);
    if (https.cert !== undefined && this.uploadFault(req, res)) return;
    if (csr === undefined || csr === null) {
      // The RAML: "a CSR can be cancelled by sending through no https.csr body" — whatever else the PUT holds.
      if (this.pending) this.log.push('CANCELLED the pending CSR and its key (PUT without https.csr)');
      this.pending = undefined;
    }
    if (https.cert !== undefined) return this.installCertificate(res, String(https.cert));
    return this.send(res, 200, this.httpsView());
  }

  /** The upload faults, which change nothing; true when one answered (or dropped) the request. */
  private uploadFault(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.faults.has('dropOnCert')) {
      req.socket.destroy();
      return true;
    }
    if (this.faults.has('errorOnCert')) {
      this.fail(res, 500, vendorError(1, 33, 'Push command failed'));
      return true;
    }
    if (this.faults.has('ignoresUpload')) {
      this.send(res, 200, this.httpsView());
      return true;
    }
    return false;
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
    if (this.sanField && csr[this.sanField] !== undefined) {
      const list = csr[this.sanField];
      if (!Array.isArray(list) || !list.every((n) => typeof n === 'string' && DNS_NAME.test(n)))
        problems.push(
          vendorError(2, 14, 'String did not conform to the expected format.', uuid(this.sanField)),
        );
      else sans = list as string[];
    }
    if (problems.length > 0)
      return this.fail(res, 500, ...problems, vendorError(1, 33, 'Push command failed'));

    const keyPem = generateKeyPairSync('rsa', { modulusLength: keyLength })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    // Only the RAML's spellings reach the subject: `organization_unit`, say, is an unknown field and ignored.
    const subject: Record<string, string> = {};
    for (const name of Object.keys(SUBJECT_FIELDS)) if (field(name)) subject[name] = field(name);
    const csrSubject = Object.fromEntries(
      Object.entries(subject).map(([name, value]) => [
        SUBJECT_FIELDS[name as keyof typeof SUBJECT_FIELDS],
        value,
      ]),
    );
    // acme-client always adds the common name as a SAN; without a SAN field that is the CSR's only name.
    const [, csrPem] = await acme.crypto.createCsr(
      { commonName, altNames: [...sans], ...csrSubject },
      keyPem,
    );
    this.pending = { keyPem, csrPem: csrPem.toString(), commonName, keyLength, subject, sans };
    this.csrs.push(this.pending.csrPem);
    this.send(res, 200, this.httpsView());
  }

  private installCertificate(res: ServerResponse, pem: string) {
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
