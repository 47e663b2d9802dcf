import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import * as acme from 'acme-client';
import { XMLParser } from 'fast-xml-parser';
import { selfSignedPems } from '../self-signed.ts';

const parser = new XMLParser({
  ignoreAttributes: false,
  parseTagValue: false,
  isArray: (n) => n === 'member',
});
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface CertEntry {
  keyPem: string;
  csrPem?: string;
  chainPem?: string;
}

interface Config {
  /** ssl-tls-service-profile name → certificate name */
  profiles: Map<string, string>;
  /** deviceconfig/system/ssl-tls-service-profile */
  mgmtProfile: string | undefined;
}

export type PanosFault = 'authFail' | 'commitFail' | 'errorOnImport' | 'dropOnImport';

/**
 * A PAN-OS XML API simulator (9.x–11.x request shapes): API keys by keygen, keys and CSRs generated inside it,
 * certificate import that must match a key it holds, candidate vs running configuration, commit jobs polled
 * with `show jobs`, and errors as HTTP 200 with status="error". Its management HTTPS serves the certificate of
 * the *running* configuration's SSL/TLS service profile, so it switches only after a successful commit.
 */
export class PanosSimulator {
  private server: Server | undefined;
  port = 0;
  readonly apiKey = `LUFRPT${randomBytes(24).toString('base64url')}`;
  readonly certificates = new Map<string, CertEntry>();
  private candidate: Config = { profiles: new Map(), mgmtProfile: undefined };
  private running: Config = { profiles: new Map(), mgmtProfile: undefined };
  private readonly jobs = new Map<number, { finishAt: number; ok: boolean; details: string }>();
  private nextJob = 1;
  readonly faults = new Set<PanosFault>();
  commitDelayMs = 50;
  readonly log: string[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly hostname: string,
    private readonly users: Record<string, string>,
  ) {}

  async start(): Promise<number> {
    const initial = selfSignedPems([this.hostname]);
    this.certificates.set('factory-default', initial);
    this.running.profiles.set('mgmt-default', 'factory-default');
    this.running.mgmtProfile = 'mgmt-default';
    this.candidate = { profiles: new Map(this.running.profiles), mgmtProfile: this.running.mgmtProfile };
    this.server = createServer({ key: initial.keyPem, cert: initial.chainPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks)));
    });
    this.server.on('secureConnection', (s) => {
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

  /** The certificate name the running configuration serves on the management interface. */
  servedCertificateName(): string | undefined {
    return this.running.mgmtProfile ? this.running.profiles.get(this.running.mgmtProfile) : undefined;
  }

  private applyRunning(): void {
    const name = this.servedCertificateName();
    const entry = name ? this.certificates.get(name) : undefined;
    if (entry?.chainPem) this.server!.setSecureContext({ key: entry.keyPem, cert: entry.chainPem });
  }

  private reply(res: ServerResponse, body: string, contentType = 'application/xml'): void {
    res.writeHead(200, { 'content-type': contentType });
    res.end(body);
  }

  private error(res: ServerResponse, message: string, code = 17): void {
    this.reply(
      res,
      `<response status="error" code="${code}"><msg><line>${esc(message)}</line></msg></response>`,
    );
  }

  private success(res: ServerResponse, inner = ''): void {
    this.reply(
      res,
      `<response status="success"${inner ? '' : ' code="20"'}>${inner || '<msg>command succeeded</msg>'}</response>`,
    );
  }

  private params(req: IncomingMessage, body: Buffer): URLSearchParams {
    const url = new URL(req.url ?? '/', 'https://x');
    const params = new URLSearchParams(url.search);
    const type = String(req.headers['content-type'] ?? '');
    if (type.startsWith('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.set(k, v);
    }
    return params;
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: Buffer) {
    const p = this.params(req, body);
    const type = p.get('type') ?? '';
    this.log.push(`${req.method} ${type}${p.get('action') ? `/${p.get('action')}` : ''}`);
    if (new URL(req.url ?? '/', 'https://x').searchParams.has('key'))
      return this.error(res, 'API keys in URLs are not accepted by this lab', 400);
    if (type === 'keygen') {
      if (req.method !== 'POST') return this.error(res, 'keygen must be a POST here', 400);
      if (this.faults.has('authFail') || this.users[p.get('user') ?? ''] !== p.get('password')) {
        return this.reply(
          res,
          '<response status="error" code="403"><result><msg>Invalid Credential</msg></result></response>',
        );
      }
      return this.success(res, `<result><key>${this.apiKey}</key></result>`);
    }
    if (this.faults.has('authFail') || req.headers['x-pan-key'] !== this.apiKey) {
      return this.reply(
        res,
        '<response status="error" code="403"><result><msg>Invalid Credential</msg></result></response>',
      );
    }
    switch (type) {
      case 'op':
        return this.op(res, p.get('cmd') ?? '');
      case 'export':
        return this.exportCsr(res, p);
      case 'import':
        return this.importCert(req, res, p, body);
      case 'config':
        return this.config(res, p);
      case 'commit': {
        const id = this.nextJob++;
        // commitFail fails the next commit only, as a commit refused for the configuration it carried would.
        const ok = !this.faults.delete('commitFail');
        this.jobs.set(id, {
          finishAt: Date.now() + this.commitDelayMs,
          ok,
          details: ok
            ? 'Configuration committed successfully'
            : 'Validation Error: ssl-tls-service-profile certificate is invalid',
        });
        return this.success(
          res,
          `<result><msg><line>Commit job enqueued with jobid ${id}</line></msg><job>${id}</job></result>`,
        );
      }
      default:
        return this.error(res, `Unknown request type ${type}`, 400);
    }
  }

  private op(res: ServerResponse, cmd: string) {
    // biome-ignore lint/suspicious/noExplicitAny: parsed XML of whatever shape the request had
    const doc = parser.parse(cmd) as Record<string, any>;
    const generate = doc.request?.certificate?.generate;
    if (generate) {
      const name = String(generate['certificate-name'] ?? '');
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name))
        return this.error(res, `invalid certificate-name ${name}`);
      if (this.certificates.has(name))
        return this.error(res, `A certificate with name ${name} already exists`);
      const cn = String(generate.name ?? '');
      const sans: string[] = (generate.hostname?.member ?? []).map(String);
      const ecdsa = generate.algorithm?.ECDSA;
      const { privateKey } = ecdsa
        ? generateKeyPairSync('ec', { namedCurve: Number(ecdsa['ecdsa-nbits']) === 384 ? 'P-384' : 'P-256' })
        : generateKeyPairSync('rsa', {
            modulusLength: Number(generate.algorithm?.RSA?.['rsa-nbits'] ?? 2048),
          });
      const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      acme.crypto
        .createCsr({ commonName: cn, altNames: sans }, keyPem)
        .then(([, csr]) => {
          this.certificates.set(name, { keyPem, csrPem: csr.toString() });
          this.success(res, `<result>Successfully generated CSR ${esc(name)}</result>`);
        })
        .catch((e: Error) => this.error(res, e.message));
      return;
    }
    const job = doc.show?.jobs?.id;
    if (job !== undefined) {
      const entry = this.jobs.get(Number(job));
      if (!entry) return this.error(res, `job ${job} not found`);
      const done = Date.now() >= entry.finishAt;
      if (done && entry.ok && !this.jobs.get(Number(job))!.details.startsWith('applied')) {
        this.running = {
          profiles: new Map(this.candidate.profiles),
          mgmtProfile: this.candidate.mgmtProfile,
        };
        this.applyRunning();
        entry.details = `applied: ${entry.details}`;
      }
      const details = entry.details.replace(/^applied: /, '');
      return this.success(
        res,
        `<result><job><id>${job}</id><type>Commit</type><status>${done ? 'FIN' : 'ACT'}</status><result>${done ? (entry.ok ? 'OK' : 'FAIL') : 'PEND'}</result><progress>${done ? 100 : 50}</progress><details><line>${esc(details)}</line></details></job></result>`,
      );
    }
    if (doc.show?.system?.info !== undefined) {
      return this.success(
        res,
        `<result><system><hostname>${esc(this.hostname)}</hostname><sw-version>10.2.4</sw-version><model>PA-VM</model></system></result>`,
      );
    }
    return this.error(res, 'Invalid syntax.');
  }

  private exportCsr(res: ServerResponse, p: URLSearchParams) {
    const entry = this.certificates.get(p.get('certificate-name') ?? '');
    if (
      p.get('category') !== 'certificate' ||
      p.get('format') !== 'pkcs10' ||
      p.get('include-key') !== 'no'
    ) {
      return this.error(res, 'export supports category=certificate, format=pkcs10, include-key=no');
    }
    if (!entry?.csrPem) return this.error(res, `certificate ${p.get('certificate-name')} has no CSR`);
    this.reply(res, entry.csrPem, 'application/octet-stream');
  }

  private importCert(req: IncomingMessage, res: ServerResponse, p: URLSearchParams, body: Buffer) {
    if (this.faults.has('dropOnImport')) {
      req.socket.destroy();
      return;
    }
    if (this.faults.has('errorOnImport'))
      return this.error(res, 'Import of certificate failed: internal error');
    const name = p.get('certificate-name') ?? '';
    const entry = this.certificates.get(name);
    const pems =
      body.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (!entry || pems.length === 0)
      return this.error(res, `Import of ${name} failed. No certificate or no matching key`);
    const leaf = new X509Certificate(pems[0]!);
    const keyMatches = leaf.checkPrivateKey(createPrivateKey(entry.keyPem));
    if (!keyMatches)
      return this.error(res, `Import of ${name} failed. Failed to find private key for certificate`);
    entry.chainPem = `${pems.join('\n')}\n`;
    this.success(res, `<msg>Successfully imported ${esc(name)} into candidate configuration</msg>`);
  }

  private config(res: ServerResponse, p: URLSearchParams) {
    const action = p.get('action');
    const xpath = p.get('xpath') ?? '';
    const profile =
      /^\/config\/shared\/ssl-tls-service-profile\/entry\[@name='([^']+)'\](\/certificate)?$/.exec(xpath);
    const system = /^\/config\/devices\/entry\[@name='localhost\.localdomain'\]\/deviceconfig\/system$/.test(
      xpath,
    );
    const cert = /^\/config\/shared\/certificate\/entry\[@name='([^']+)'\]$/.exec(xpath);
    if (action === 'get' && profile) {
      const name = this.candidate.profiles.get(profile[1]!);
      return this.success(
        res,
        `<result total-count="${name ? 1 : 0}" count="${name ? 1 : 0}">${name ? `<certificate>${esc(name)}</certificate>` : ''}</result>`,
      );
    }
    if (action === 'get' && /\/deviceconfig\/system\/ssl-tls-service-profile$/.test(xpath)) {
      const name = this.candidate.mgmtProfile;
      return this.success(
        res,
        `<result total-count="${name ? 1 : 0}" count="${name ? 1 : 0}">${name ? `<ssl-tls-service-profile>${esc(name)}</ssl-tls-service-profile>` : ''}</result>`,
      );
    }
    if (action === 'set' && profile) {
      const element = parser.parse(p.get('element') ?? '') as Record<string, unknown>;
      const name = String(element.certificate ?? '');
      if (!this.certificates.get(name)?.chainPem)
        return this.error(
          res,
          `ssl-tls-service-profile ${profile[1]}: certificate '${name}' is not a valid reference`,
        );
      this.candidate.profiles.set(profile[1]!, name);
      return this.success(res);
    }
    if (action === 'set' && system) {
      const element = parser.parse(p.get('element') ?? '') as Record<string, unknown>;
      const name = String(element['ssl-tls-service-profile'] ?? '');
      if (!this.candidate.profiles.has(name))
        return this.error(res, `ssl-tls-service-profile '${name}' is not a valid reference`);
      this.candidate.mgmtProfile = name;
      return this.success(res);
    }
    if (action === 'delete' && cert) {
      const name = cert[1]!;
      const inUse = [...this.candidate.profiles.values(), ...this.running.profiles.values()].includes(name);
      if (inUse)
        return this.error(
          res,
          `${name} cannot be deleted because of references from ssl-tls-service-profile`,
        );
      this.certificates.delete(name);
      return this.success(res);
    }
    return this.error(res, `unsupported config ${action} ${xpath}`);
  }
}
