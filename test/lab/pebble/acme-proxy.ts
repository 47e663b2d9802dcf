import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Agent, createServer, request as httpsRequest, type Server } from 'node:https';
import { ariCertificateId } from '../../../src/acme/ari.ts';

export type CaFault = 'rateLimited' | 'serverInternal' | 'badNonce' | 'alreadyReplaced' | 'hang';

export interface RenewalWindow {
  start: string;
  end: string;
}

const PROBLEM_TYPES: Record<Exclude<CaFault, 'hang'>, { status: number; type: string; detail: string }> = {
  rateLimited: {
    status: 429,
    type: 'urn:ietf:params:acme:error:rateLimited',
    detail: 'too many new orders recently',
  },
  serverInternal: {
    status: 500,
    type: 'urn:ietf:params:acme:error:serverInternal',
    detail: 'the CA had an internal error',
  },
  badNonce: {
    status: 400,
    type: 'urn:ietf:params:acme:error:badNonce',
    detail: 'JWS has an invalid anti-replay nonce',
  },
  // RFC 9773 §5: a newOrder whose `replaces` names a certificate already marked as replaced by another order
  // is refused with 409 Conflict and a problem document of type alreadyReplaced (registered in §7.4). The
  // detail is Pebble's (letsencrypt/pebble wfe/wfe.go validateReplacementOrder, acme/problems.go, since v2.10).
  alreadyReplaced: {
    status: 409,
    type: 'urn:ietf:params:acme:error:alreadyReplaced',
    detail: 'certificate with serial 00 already has a replacement order',
  },
};

/** One POST the proxy saw: the JWS payload decoded ('' for a POST-as-GET), and what was answered. */
export interface SeenPost {
  path: string;
  payload: unknown;
  status: number;
  body: unknown;
}

function jwsPayload(body: Buffer): unknown {
  try {
    const jws = JSON.parse(body.toString('utf8')) as { payload?: string };
    if (typeof jws.payload !== 'string') return undefined;
    if (jws.payload === '') return ''; // POST-as-GET (RFC 8555 §6.3)
    return JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function jsonOrUndefined(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * An HTTPS reverse proxy in front of Pebble that adds what Debian's Pebble 2.4 lacks: ACME Renewal Information
 * (RFC 9773) — `renewalInfo` in the directory, `GET renewalInfo/<certID>`, and the `replaces` check of a new
 * order — and RFC 8555 faults on demand.
 *
 * Pebble 2.4 ignores `replaces` (its acme.Order has no such field). RFC 9773 §5 has the server refuse an order
 * whose `replaces` names a certificate that already has a replacement, with 409 `alreadyReplaced`; Pebble ≥ 2.10
 * does so (letsencrypt/pebble #532) and marks a certificate replaced once an order naming it in `replaces` is
 * finalized (wfe/wfe.go FinalizeOrder → db.UpdateReplacedOrder). The proxy does the same: it remembers each
 * order's `replaces` from the newOrder request and the order URL Pebble answers with, marks the certificate
 * replaced when that order's finalize succeeds, and answers later newOrders naming it with the problem.
 *
 * Pebble checks each JWS `url` against the Host header it receives and builds its own URLs from that header, so
 * the proxy forwards the client's Host unchanged: clients sign proxy URLs, Pebble accepts them, and every URL
 * Pebble returns already points at the proxy. Nothing needs rewriting but the directory.
 */
export class AcmeProxy {
  private server: Server | undefined;
  port = 0;
  /** Certificates seen in downloads, by ARI id. */
  readonly certificates = new Map<string, { notBefore: number; notAfter: number }>();
  /** Per-id windows set by a test; default: the last third of the lifetime's first tenth after 2/3 elapsed. */
  readonly windows = new Map<string, RenewalWindow>();
  retryAfterSeconds = 21_600;
  private faults: {
    kind: CaFault;
    path: RegExp;
    retryAfter?: string;
    when?: (payload: unknown) => boolean;
  }[] = [];
  /** Called before a request is forwarded (tests change the world at exact protocol moments). */
  beforeForward: ((method: string, path: string) => void) | undefined;
  /** Every POST, in order (tests check what reached the CA: a deactivation, a second order). */
  readonly posts: SeenPost[] = [];
  /** ARI ids of certificates an order has replaced (RFC 9773 §5); a new order naming one is refused. */
  readonly replaced = new Set<string>();
  /** Order path (`/my-order/<id>`) → the `replaces` its newOrder carried. */
  private readonly orderReplaces = new Map<string, string>();

  constructor(
    private readonly pebbleUrl: string,
    private readonly pebbleAgent: Agent,
    private readonly tls: { cert: string; key: string },
  ) {}

  get directoryUrl(): string {
    return `https://127.0.0.1:${this.port}/dir`;
  }

  /**
   * The next POST whose path matches `path` (default: any) and, when given, whose decoded JWS payload `when`
   * accepts, is answered with this fault instead of Pebble.
   */
  failNext(
    kind: CaFault,
    options: { path?: RegExp; retryAfter?: string; when?: (payload: unknown) => boolean } = {},
  ): void {
    this.faults.push({
      kind,
      path: options.path ?? /./,
      ...(options.retryAfter ? { retryAfter: options.retryAfter } : {}),
      ...(options.when ? { when: options.when } : {}),
    });
  }

  async start(): Promise<string> {
    this.server = createServer({ cert: this.tls.cert, key: this.tls.key }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy error: ${(error as Error).message}`);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.directoryUrl;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private windowFor(id: string): RenewalWindow | undefined {
    const set = this.windows.get(id);
    if (set) return set;
    const cert = this.certificates.get(id);
    if (!cert) return undefined;
    const lifetime = cert.notAfter - cert.notBefore;
    const start = cert.notBefore + (2 * lifetime) / 3;
    return { start: new Date(start).toISOString(), end: new Date(start + lifetime / 10).toISOString() };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    const info = /^\/renewal-info\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(path);
    if (req.method === 'GET' && info) {
      const window = this.windowFor(info[1]!);
      if (!window) {
        this.problem(res, 404, 'urn:ietf:params:acme:error:malformed', 'no such certificate');
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        'retry-after': String(this.retryAfterSeconds),
      });
      res.end(
        JSON.stringify({ suggestedWindow: window, explanationURL: `https://127.0.0.1:${this.port}/why` }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const isPost = req.method === 'POST';
    const sent = isPost ? jwsPayload(body) : undefined;
    const fault = isPost
      ? this.faults.find((f) => f.path.test(path) && (!f.when || f.when(sent)))
      : undefined;
    const replaces = (sent as { replaces?: unknown } | undefined)?.replaces;
    const refuseReplaces =
      isPost && path === '/order-plz' && typeof replaces === 'string' && this.replaced.has(replaces);
    if (fault || refuseReplaces) {
      if (fault) this.faults.splice(this.faults.indexOf(fault), 1);
      if (fault?.kind === 'hang') return; // never answers; the client's timeout must end it
      const p = PROBLEM_TYPES[fault ? (fault.kind as Exclude<CaFault, 'hang'>) : 'alreadyReplaced'];
      const upstreamNonce = await this.freshNonce(req.headers.host ?? '');
      this.posts.push({ path, payload: sent, status: p.status, body: { type: p.type, detail: p.detail } });
      this.problem(res, p.status, p.type, p.detail, {
        ...(fault?.retryAfter ? { 'retry-after': fault.retryAfter } : {}),
        ...(upstreamNonce ? { 'replay-nonce': upstreamNonce } : {}),
      });
      return;
    }
    this.beforeForward?.(req.method ?? 'GET', path);
    const upstream = await this.forward(req, body);
    let payload = upstream.body;
    if (isPost) {
      this.posts.push({ path, payload: sent, status: upstream.status, body: jsonOrUndefined(payload) });
      this.trackReplacement(path, typeof replaces === 'string' ? replaces : undefined, upstream);
    }
    if (path === '/dir' && upstream.status === 200) {
      const directory = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
      directory.renewalInfo = `https://127.0.0.1:${this.port}/renewal-info`;
      payload = Buffer.from(JSON.stringify(directory));
    }
    if (String(upstream.headers['content-type'] ?? '').startsWith('application/pem-certificate-chain')) {
      try {
        const pem = payload.toString('utf8');
        const leaf = new X509Certificate(pem);
        this.certificates.set(ariCertificateId(pem), {
          notBefore: Date.parse(leaf.validFrom),
          notAfter: Date.parse(leaf.validTo),
        });
      } catch {
        // not a certificate we can name; ARI simply has no window for it
      }
    }
    const headers: Record<string, string | string[] | undefined> = {
      ...upstream.headers,
      'content-length': String(payload.length),
    };
    delete headers['transfer-encoding'];
    res.writeHead(upstream.status, headers);
    res.end(payload);
  }

  /** Pebble ≥ 2.10's bookkeeping of RFC 9773 replacements (see the class comment). */
  private trackReplacement(
    path: string,
    replaces: string | undefined,
    upstream: { status: number; headers: Record<string, string | string[] | undefined> },
  ): void {
    if (path === '/order-plz' && upstream.status === 201 && replaces) {
      const location = upstream.headers.location;
      if (typeof location === 'string') this.orderReplaces.set(new URL(location).pathname, replaces);
    }
    const finalize = /^\/finalize-order\/(.+)$/.exec(path);
    if (finalize && upstream.status === 200) {
      const id = this.orderReplaces.get(`/my-order/${finalize[1]}`);
      if (id) this.replaced.add(id);
    }
  }

  private problem(
    res: ServerResponse,
    status: number,
    type: string,
    detail: string,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
    res.end(JSON.stringify({ type, detail, status }));
  }

  private forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const target = new URL(req.url ?? '/', this.pebbleUrl);
    return new Promise((resolve, reject) => {
      const upstream = httpsRequest(
        target,
        {
          method: req.method ?? 'GET',
          headers: { ...req.headers, host: req.headers.host ?? target.host },
          agent: this.pebbleAgent,
        },
        (response) => {
          const parts: Buffer[] = [];
          response.on('data', (c: Buffer) => parts.push(c));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 502,
              headers: response.headers,
              body: Buffer.concat(parts),
            }),
          );
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  /** A real nonce from Pebble, so a client retrying after an injected badNonce can go on. */
  private freshNonce(host: string): Promise<string | undefined> {
    const target = new URL('/nonce-plz', this.pebbleUrl);
    return new Promise((resolve) => {
      const r = httpsRequest(
        target,
        { method: 'HEAD', headers: { host }, agent: this.pebbleAgent },
        (response) => {
          response.resume();
          const nonce = response.headers['replay-nonce'];
          resolve(typeof nonce === 'string' ? nonce : undefined);
        },
      );
      r.on('error', () => resolve(undefined));
      r.end();
    });
  }
}
