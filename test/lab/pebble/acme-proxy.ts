import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Agent, createServer, request as httpsRequest, type Server } from 'node:https';
import { ariCertificateId } from '../../../src/acme/ari.ts';

export type CaFault = 'rateLimited' | 'serverInternal' | 'badNonce' | 'hang';

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
};

/**
 * An HTTPS reverse proxy in front of Pebble that adds what Debian's Pebble 2.4 lacks: ACME Renewal Information
 * (RFC 9773) — `renewalInfo` in the directory and `GET renewalInfo/<certID>` — and RFC 8555 faults on demand.
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
  private faults: { kind: CaFault; path: RegExp; retryAfter?: string }[] = [];
  /** Called before a request is forwarded (tests change the world at exact protocol moments). */
  beforeForward: ((method: string, path: string) => void) | undefined;

  constructor(
    private readonly pebbleUrl: string,
    private readonly pebbleAgent: Agent,
    private readonly tls: { cert: string; key: string },
  ) {}

  get directoryUrl(): string {
    return `https://127.0.0.1:${this.port}/dir`;
  }

  /** The next POST whose path matches `path` (default: any) is answered with this fault instead of Pebble. */
  failNext(kind: CaFault, options: { path?: RegExp; retryAfter?: string } = {}): void {
    this.faults.push({
      kind,
      path: options.path ?? /./,
      ...(options.retryAfter ? { retryAfter: options.retryAfter } : {}),
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
    const fault = req.method === 'POST' ? this.faults.find((f) => f.path.test(path)) : undefined;
    if (fault) {
      this.faults.splice(this.faults.indexOf(fault), 1);
      if (fault.kind === 'hang') return; // never answers; the client's timeout must end it
      const p = PROBLEM_TYPES[fault.kind];
      const upstreamNonce = await this.freshNonce(req.headers.host ?? '');
      this.problem(res, p.status, p.type, p.detail, {
        ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}),
        ...(upstreamNonce ? { 'replay-nonce': upstreamNonce } : {}),
      });
      return;
    }
    this.beforeForward?.(req.method ?? 'GET', path);
    const upstream = await this.forward(req, body);
    let payload = upstream.body;
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
