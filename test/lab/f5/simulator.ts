import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import * as acme from 'acme-client';
import { selfSignedPems } from '../self-signed.ts';

type Json = Record<string, unknown>;

export type F5Fault =
  /** Login refused. */
  | 'authFail'
  /** Every token is forgotten once, right after the CSR is created (as when the 20-minute timeout passes). */
  | 'expireTokenAfterCsr'
  /** The certificate install answers HTTP 200 with an error document in the body. */
  | 'error200OnInstall'
  /** The connection is dropped while the chain is uploaded. */
  | 'dropOnUpload'
  /** The next client-ssl profile update is refused (as for a key/certificate mismatch). */
  | 'profileUpdateFail'
  /** httpd comes back from its restart still serving the previous certificate. */
  | 'httpdRestartServesOld';

interface Profile {
  cert: string;
  key: string;
  chain: string;
}

interface HttpdConfig {
  sslCertfile: string;
  sslCertkeyfile: string;
  sslCertchainfile: string;
}

const DOWNLOADS = '/var/config/rest/downloads/';
const FILESTORE = '/config/filestore/files_d/Common_d';

/**
 * An F5 BIG-IP iControl REST simulator (request and error shapes of 14.x–17.x): token login with expiry, keys and
 * CSRs generated inside it (`sys crypto key` / `sys crypto csr`, read back with `tmsh list` through `util bash`),
 * chunked file-transfer uploads, `sys crypto cert install`, a client-ssl profile whose certKeyChain a virtual server
 * serves, and the management httpd certificate that changes only after `restart sys service httpd`.
 * Two HTTPS listeners: management (iControl REST, httpd's certificate) and one virtual server (the profile's).
 */
export class F5Simulator {
  private management: Server | undefined;
  private virtualServer: Server | undefined;
  port = 0;
  virtualPort = 0;
  readonly keys = new Map<string, string>();
  readonly certificates = new Map<string, string>();
  readonly csrs = new Map<string, { key: string; pem: string }>();
  private readonly uploads = new Map<string, Buffer>();
  private readonly tokens = new Map<string, number>();
  /** Every token a login issued, in order (tests check each was masked and none reached a message). */
  readonly issuedTokens: string[] = [];
  readonly profiles = new Map<string, Profile>();
  httpd: HttpdConfig;
  private runningHttpd: HttpdConfig;
  readonly faults = new Set<F5Fault>();
  tokenTtlMs = 1_200_000;
  restartMs = 300;
  private restartingUntil = 0;
  readonly log: string[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly hostname: string,
    private readonly users: Record<string, string>,
  ) {
    const factory = selfSignedPems([hostname]);
    this.keys.set('/Common/default.key', factory.keyPem);
    this.certificates.set('/Common/default.crt', factory.chainPem);
    this.profiles.set('/Common/clientssl', {
      cert: '/Common/default.crt',
      key: '/Common/default.key',
      chain: 'none',
    });
    this.httpd = {
      sslCertfile: '/etc/httpd/conf/ssl.crt/server.crt',
      sslCertkeyfile: '/etc/httpd/conf/ssl.key/server.key',
      sslCertchainfile: 'none',
    };
    this.keys.set(this.httpd.sslCertkeyfile, factory.keyPem);
    this.certificates.set(this.httpd.sslCertfile, factory.chainPem);
    this.runningHttpd = { ...this.httpd };
  }

  /** Adds a client-ssl profile served by the virtual server, starting with the factory certificate. */
  addClientSslProfile(name: string): void {
    this.profiles.set(`/Common/${name}`, {
      cert: '/Common/default.crt',
      key: '/Common/default.key',
      chain: 'none',
    });
  }

  /** Which profile the virtual server uses. */
  virtualServerProfile = '/Common/clientssl';

  async start(): Promise<void> {
    const factory = this.served(this.runningHttpd.sslCertkeyfile, this.runningHttpd.sslCertfile, 'none');
    this.management = createServer(factory, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks)));
    });
    this.management.on('secureConnection', (s) => {
      if (Date.now() < this.restartingUntil) {
        s.destroy();
        return;
      }
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.virtualServer = createServer(this.profileContext(), (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('virtual server\n');
    });
    this.virtualServer.on('secureConnection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.management!.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => this.virtualServer!.listen(0, '127.0.0.1', r));
    this.port = (this.management.address() as { port: number }).port;
    this.virtualPort = (this.virtualServer.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(
      [this.management, this.virtualServer].map(
        (server) => new Promise<void>((r) => (server ? server.close(() => r()) : r())),
      ),
    );
  }

  private served(keyPath: string, certPath: string, chainPath: string): { key: string; cert: string } {
    const chain = chainPath !== 'none' ? (this.certificates.get(chainPath) ?? '') : '';
    return { key: this.keys.get(keyPath)!, cert: `${this.certificates.get(certPath)!.trim()}\n${chain}` };
  }

  private profileContext(): { key: string; cert: string } {
    const p = this.profiles.get(this.virtualServerProfile)!;
    return this.served(p.key, p.cert, p.chain);
  }

  private send(res: ServerResponse, status: number, body: Json): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(body));
  }

  /** iControl REST's error document for tmsh-backed endpoints. */
  private fail(res: ServerResponse, status: number, message: string, httpStatus = status): void {
    this.send(res, httpStatus, { code: status, message, errorStack: [], apiError: 3 });
  }

  /** The REST framework's own errors (authentication, unknown workers). */
  private restError(res: ServerResponse, status: number, message: string): void {
    this.send(res, status, {
      code: status,
      message,
      referer: '127.0.0.1',
      restOperationId: Math.floor(Math.random() * 1e7),
      kind: ':resterrorresponse',
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: Buffer) {
    const url = new URL(req.url ?? '/', 'https://x');
    const path = url.pathname;
    this.log.push(`${req.method} ${path}`);
    if (req.method === 'POST' && path === '/mgmt/shared/authn/login') return this.login(res, body);
    const token = String(req.headers['x-f5-auth-token'] ?? '');
    const expires = this.tokens.get(token);
    if (!token)
      return this.restError(
        res,
        401,
        'Authorization failed: no user authentication header or token detected. Uri:http://localhost:8100' +
          `${path} Referrer:127.0.0.1 Sender:127.0.0.1`,
      );
    if (expires === undefined || expires < Date.now()) {
      this.tokens.delete(token);
      return this.restError(res, 401, 'X-F5-Auth-Token does not exist.');
    }
    const json = (): Json => {
      try {
        return JSON.parse(body.toString('utf8') || '{}') as Json;
      } catch {
        return {};
      }
    };
    const key = `${req.method} ${path}`;
    if (req.method === 'DELETE' && path.startsWith('/mgmt/shared/authz/tokens/')) {
      this.tokens.delete(decodeURIComponent(path.slice('/mgmt/shared/authz/tokens/'.length)));
      return this.send(res, 200, { kind: 'shared:authz:tokens:authtokenitemstate' });
    }
    if (key === 'GET /mgmt/tm/sys/version')
      return this.send(res, 200, {
        kind: 'tm:sys:version:versionstats',
        entries: {
          'https://localhost/mgmt/tm/sys/version/0': {
            nestedStats: { entries: { Version: { description: '16.1.4' } } },
          },
        },
      });
    if (key === 'POST /mgmt/tm/sys/crypto/key') return this.createKey(res, json());
    if (key === 'POST /mgmt/tm/sys/crypto/csr') return this.createCsr(res, json());
    if (key === 'POST /mgmt/tm/util/bash') return this.bash(res, json());
    if (req.method === 'POST' && path.startsWith('/mgmt/shared/file-transfer/uploads/'))
      return this.upload(req, res, decodeURIComponent(path.split('/').pop()!), body);
    if (key === 'POST /mgmt/tm/sys/crypto/cert') return this.installCert(res, json());
    const object =
      /^\/mgmt\/tm\/(sys\/crypto\/(?:cert|key|csr)|sys\/file\/(?:ssl-cert|ssl-key)|ltm\/profile\/client-ssl)\/~Common~([^/]+)$/.exec(
        path,
      );
    if (object)
      return this.object(
        req.method ?? '',
        res,
        object[1]!,
        `/Common/${decodeURIComponent(object[2]!)}`,
        json(),
      );
    if (path === '/mgmt/tm/sys/httpd') {
      if (req.method === 'GET')
        return this.send(res, 200, { kind: 'tm:sys:httpd:httpdstate', ...this.httpd });
      if (req.method === 'PATCH') return this.patchHttpd(res, json());
    }
    if (key === 'POST /mgmt/tm/sys/service') return this.service(res, json());
    return this.restError(res, 404, `Public URI path not registered: ${path}`);
  }

  private login(res: ServerResponse, body: Buffer) {
    let creds: Json = {};
    try {
      creds = JSON.parse(body.toString('utf8')) as Json;
    } catch {
      return this.restError(res, 400, 'Found invalid JSON body in the request.');
    }
    const user = String(creds.username ?? '');
    if (
      this.faults.has('authFail') ||
      creds.loginProviderName !== 'tmos' ||
      this.users[user] !== creds.password
    )
      return this.restError(res, 401, 'Authentication failed.');
    const token = randomBytes(16).toString('hex').toUpperCase().slice(0, 26);
    this.tokens.set(token, Date.now() + this.tokenTtlMs);
    this.issuedTokens.push(token);
    this.send(res, 200, {
      username: user,
      loginProviderName: 'tmos',
      token: {
        token,
        name: token,
        userName: user,
        timeout: Math.round(this.tokenTtlMs / 1000),
        expirationMicros: (Date.now() + this.tokenTtlMs) * 1000,
        kind: 'shared:authz:tokens:authtokenitemstate',
      },
      generation: 0,
      lastUpdateMicros: 0,
    });
  }

  private fullPath(body: Json): string | undefined {
    const name = String(body.name ?? '');
    const partition = String(body.partition ?? 'Common');
    if (partition !== 'Common' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(name)) return undefined;
    return `/Common/${name}`;
  }

  private createKey(res: ServerResponse, body: Json) {
    const path = this.fullPath(body);
    if (!path) return this.fail(res, 400, `01070712:3: Invalid name (${String(body.name)})`);
    if (this.keys.has(path))
      return this.fail(
        res,
        409,
        `01020066:3: The requested Certificate Key File (${path}) already exists in partition Common.`,
      );
    const type = body.keyType ?? 'rsa-private';
    let keyPem: string;
    if (type === 'rsa-private') {
      const size = Number(body.keySize ?? 2048);
      if (![2048, 3072, 4096].includes(size))
        return this.fail(res, 400, `01070711:3: Invalid key size ${size}`);
      keyPem = generateKeyPairSync('rsa', { modulusLength: size })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
    } else if (type === 'ec-private') {
      const curve = { prime256v1: 'P-256', secp384r1: 'P-384' }[String(body.curveName ?? 'prime256v1')];
      if (!curve) return this.fail(res, 400, `01070711:3: Invalid curve ${String(body.curveName)}`);
      keyPem = generateKeyPairSync('ec', { namedCurve: curve })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
    } else return this.fail(res, 400, `01070711:3: Invalid key type ${String(type)}`);
    this.keys.set(path, keyPem);
    this.send(res, 200, {
      kind: 'tm:sys:crypto:key:keystate',
      name: body.name,
      partition: 'Common',
      fullPath: path,
      keyType: type,
      securityType: 'normal',
    });
  }

  private createCsr(res: ServerResponse, body: Json) {
    const path = this.fullPath(body);
    if (!path) return this.fail(res, 400, `01070712:3: Invalid name (${String(body.name)})`);
    if (this.csrs.has(path))
      return this.fail(
        res,
        409,
        `01020066:3: The requested Certificate Signing Request (${path}) already exists.`,
      );
    const keyPath = String(body.key ?? '').startsWith('/') ? String(body.key) : `/Common/${String(body.key)}`;
    const keyPem = this.keys.get(keyPath);
    if (!keyPem) return this.fail(res, 400, `01070317:3: Key file (${keyPath}) does not exist`);
    const commonName = String(body.commonName ?? '');
    const sans = String(body.subjectAlternativeName ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (sans.some((s) => !s.startsWith('DNS:')))
      return this.fail(
        res,
        400,
        `01071c4f:3: Invalid subject alternative name (${String(body.subjectAlternativeName)})`,
      );
    acme.crypto
      .createCsr({ commonName, altNames: sans.map((s) => s.slice(4)) }, keyPem)
      .then(([, csr]) => {
        this.csrs.set(path, { key: keyPath, pem: csr.toString() });
        if (this.faults.has('expireTokenAfterCsr')) {
          this.faults.delete('expireTokenAfterCsr');
          this.tokens.clear();
        }
        this.send(res, 200, {
          kind: 'tm:sys:crypto:csr:csrstate',
          name: body.name,
          partition: 'Common',
          fullPath: path,
          commonName,
          key: keyPath,
          subjectAlternativeName: body.subjectAlternativeName,
        });
      })
      .catch((e: Error) => this.fail(res, 400, e.message));
  }

  /** Only `tmsh list sys crypto csr <name>` is understood; anything else is refused, as a locked-down role would. */
  private bash(res: ServerResponse, body: Json) {
    const args = String(body.utilCmdArgs ?? '');
    const list = /^-c 'tmsh list sys crypto csr ([A-Za-z0-9_.-]+)'$/.exec(args);
    if (body.command !== 'run' || !list) return this.fail(res, 400, 'command not permitted in this lab');
    const csr = this.csrs.get(`/Common/${list[1]}`);
    if (!csr)
      return this.send(res, 200, {
        kind: 'tm:util:bash:runstate',
        command: 'run',
        utilCmdArgs: args,
        commandResult: `01020036:3: The requested Certificate Signing Request (/Common/${list[1]}) was not found.\n`,
      });
    this.send(res, 200, {
      kind: 'tm:util:bash:runstate',
      command: 'run',
      utilCmdArgs: args,
      commandResult: csr.pem,
    });
  }

  private upload(req: IncomingMessage, res: ServerResponse, file: string, body: Buffer) {
    if (this.faults.has('dropOnUpload')) {
      req.socket.destroy();
      return;
    }
    const range = /^(\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
    if (!range || !/^[A-Za-z0-9_.-]+$/.test(file))
      return this.restError(res, 400, 'Content-Range header is required: start-end/total');
    const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (end - start + 1 !== body.length)
      return this.restError(
        res,
        400,
        `Content-Range length ${end - start + 1} does not match body ${body.length}`,
      );
    const previous = start === 0 ? Buffer.alloc(0) : (this.uploads.get(file) ?? Buffer.alloc(0));
    this.uploads.set(file, Buffer.concat([previous.subarray(0, start), body]));
    this.send(res, 200, {
      remainingByteCount: total - (end + 1),
      usedChunks: { 0: body.length },
      totalByteCount: total,
      localFilePath: `${DOWNLOADS}${file}`,
      temporaryFilePath: `${DOWNLOADS}tmp/${file}`,
      generation: 0,
      lastUpdateMicros: Date.now() * 1000,
    });
  }

  private installCert(res: ServerResponse, body: Json) {
    if (this.faults.has('error200OnInstall'))
      return this.fail(res, 400, '01070712:3: Unable to install certificate: internal error', 200);
    const path = this.fullPath(body);
    const from = String(body['from-local-file'] ?? '');
    if (body.command !== 'install' || !path || !from.startsWith(DOWNLOADS))
      return this.fail(res, 400, '01070712:3: install requires command, name and from-local-file');
    const data = this.uploads.get(from.slice(DOWNLOADS.length));
    const pems = data
      ?.toString('utf8')
      .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
    if (!pems) return this.fail(res, 400, `01070712:3: Cannot read certificate file ${from}`);
    this.certificates.set(path, `${pems.join('\n')}\n`);
    this.send(res, 200, {
      kind: 'tm:sys:crypto:cert:certstate',
      name: body.name,
      fullPath: path,
      command: 'install',
    });
  }

  private inUse(path: string): boolean {
    const refs = [
      ...[...this.profiles.values()].flatMap((p) => [p.cert, p.key, p.chain]),
      ...Object.values(this.httpd),
      ...Object.values(this.runningHttpd),
    ];
    return refs.some((r) => r === path || r === this.cachePath(path));
  }

  private cachePath(path: string): string {
    const name = path.split('/').pop()!;
    return `${FILESTORE}/${name.endsWith('.key') ? 'certificate_key_d' : 'certificate_d'}/:Common:${name}_1`;
  }

  private object(method: string, res: ServerResponse, kind: string, path: string, body: Json) {
    if (kind === 'ltm/profile/client-ssl') {
      const profile = this.profiles.get(path);
      if (!profile)
        return this.fail(res, 404, `01020036:3: The requested Client SSL Profile (${path}) was not found.`);
      if (method === 'GET')
        return this.send(res, 200, {
          kind: 'tm:ltm:profile:client-ssl:client-sslstate',
          fullPath: path,
          certKeyChain: [{ name: 'default', ...profile }],
        });
      if (method === 'PATCH') {
        const entry = (body.certKeyChain as Profile[] | undefined)?.[0];
        if (!entry) return this.fail(res, 400, '01070734:3: certKeyChain is required');
        const keyPem = this.keys.get(entry.key);
        const certPem = this.certificates.get(entry.cert);
        if (!keyPem || !certPem || (entry.chain !== 'none' && !this.certificates.get(entry.chain)))
          return this.fail(
            res,
            400,
            `01070712:3: Values (${entry.cert}) specified for ssl profile ${path}: not found`,
          );
        if (
          this.faults.delete('profileUpdateFail') ||
          !new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))
        )
          return this.fail(
            res,
            400,
            `01070313:3: Error reading key PEM file ${entry.key} for profile ${path}: error:0B080074:x509 certificate routines:X509_check_private_key:key values mismatch`,
          );
        this.profiles.set(path, { cert: entry.cert, key: entry.key, chain: entry.chain });
        if (path === this.virtualServerProfile) this.virtualServer?.setSecureContext(this.profileContext());
        return this.send(res, 200, {
          kind: 'tm:ltm:profile:client-ssl:client-sslstate',
          fullPath: path,
          certKeyChain: [{ name: 'default', ...entry }],
        });
      }
    }
    const store = kind.endsWith('key') ? this.keys : kind.endsWith('csr') ? this.csrs : this.certificates;
    if (!store.has(path))
      return this.fail(res, 404, `01020036:3: The requested object (${path}) was not found.`);
    if (method === 'GET') return this.send(res, 200, { fullPath: path, cachePath: this.cachePath(path) });
    if (method === 'DELETE') {
      if (this.inUse(path))
        return this.fail(res, 400, `01070621:3: ${path} is in use by a profile or the management interface`);
      store.delete(path);
      return this.send(res, 200, {});
    }
    this.fail(res, 405, `${method} not supported on ${kind}`);
  }

  /** Resolves an httpd file setting: a filestore cache path of an installed object, or one of httpd's own files. */
  private resolve(file: string): string | undefined {
    if (file === 'none') return 'none';
    if (this.keys.has(file) || this.certificates.has(file)) return file;
    for (const path of [...this.keys.keys(), ...this.certificates.keys()])
      if (this.cachePath(path) === file) return path;
    return undefined;
  }

  private patchHttpd(res: ServerResponse, body: Json) {
    const next = { ...this.httpd };
    for (const field of ['sslCertfile', 'sslCertkeyfile', 'sslCertchainfile'] as const) {
      if (body[field] === undefined) continue;
      if (!this.resolve(String(body[field])))
        return this.fail(res, 400, `01070712:3: ${field}: file ${String(body[field])} not found`);
      next[field] = String(body[field]);
    }
    this.httpd = next;
    this.send(res, 200, { kind: 'tm:sys:httpd:httpdstate', ...this.httpd });
  }

  /** `restart sys service httpd`: connections are refused while it restarts, then the new configuration serves. */
  private service(res: ServerResponse, body: Json) {
    if (body.command !== 'restart' || body.name !== 'httpd')
      return this.fail(res, 400, 'only restart of httpd is simulated');
    this.send(res, 200, { kind: 'tm:sys:service:servicestate', command: 'restart', name: 'httpd' });
    this.restartingUntil = Date.now() + this.restartMs;
    setTimeout(() => {
      for (const s of this.sockets) if (!s.destroyed && s.localPort === this.port) s.destroy();
    }, 10);
    setTimeout(() => {
      if (!this.faults.has('httpdRestartServesOld')) this.runningHttpd = { ...this.httpd };
      const key = this.resolve(this.runningHttpd.sslCertkeyfile)!;
      const cert = this.resolve(this.runningHttpd.sslCertfile)!;
      const chain = this.resolve(this.runningHttpd.sslCertchainfile)!;
      this.management?.setSecureContext(this.served(key, cert, chain));
    }, this.restartMs);
  }

  /** The serial number each listener presents now (for assertions). */
  servedPaths(): { httpd: HttpdConfig; profile: Profile } {
    return { httpd: this.runningHttpd, profile: this.profiles.get(this.virtualServerProfile)! };
  }
}
