import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  | 'httpdRestartServesOld'
  /** The HA peer cannot be reached: cm sync-status reads Disconnected and a config-sync never completes. */
  | 'peerDisconnected';

/**
 * What a user may do (BEHAVIOUR.md): `admin` is the Administrator role with advanced shell; `manager` is a
 * least-privilege role whose requests to `/mgmt/tm/util/bash` are refused with the REST framework's 401.
 */
export type F5Role = 'admin' | 'manager';

export interface F5SimulatorOptions {
  /** Roles by user name; a user not named here is an Administrator. */
  roles?: Record<string, F5Role>;
  /** A sync-failover device group with one peer (`cm device-group`, `config-sync to-group`, `cm sync-status`). */
  deviceGroup?: string;
}

/** One certKeyChain entry of a client-ssl profile (at most one per key type, as BIG-IP enforces). */
export interface ChainEntry {
  name: string;
  cert: string;
  key: string;
  chain: string;
  [field: string]: unknown;
}

interface Profile {
  certKeyChain: ChainEntry[];
}

/** What `save sys config` writes and a reboot loads: the bindings and which objects exist. */
interface SavedConfig {
  profiles: Map<string, Profile>;
  httpd: HttpdConfig;
  objects: Set<string>;
}

/** The HA peer's copy of the synced configuration (sys httpd is per device and is not synced). */
interface PeerConfig {
  profiles: Map<string, Profile>;
  objects: Set<string>;
}

interface HttpdConfig {
  sslCertfile: string;
  sslCertkeyfile: string;
  sslCertchainfile: string;
}

const DOWNLOADS = '/var/config/rest/downloads/';
const BULK = '/var/config/rest/bulk/';
const CSR_DIR = '/config/ssl/ssl.csr/';
const FILESTORE = '/config/filestore/files_d/Common_d';
const copyProfiles = (profiles: Map<string, Profile>) =>
  new Map([...profiles].map(([name, p]) => [name, { certKeyChain: p.certKeyChain.map((e) => ({ ...e })) }]));

/** A self-signed RSA key and certificate (the ECDSA factory pair comes from selfSignedPems). */
function selfSignedRsa(name: string): { keyPem: string; certPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'f5-rsa-'));
  try {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '5'].concat([
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=DNS:${name}`,
      ]),
      { stdio: 'ignore' },
    );
    return { keyPem: readFileSync(key, 'utf8'), certPem: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * An F5 BIG-IP iControl REST simulator in the shapes of recorded 14.1 answers (every behaviour and its source:
 * BEHAVIOUR.md beside this file): token login with expiry, roles (`util bash` refused for a least-privilege user),
 * keys and CSRs generated inside it (`sys crypto key` / `sys crypto csr`, the CSR file under /config/ssl/ssl.csr/
 * moved with `util unix-mv` and downloaded through `file-transfer/bulk`), chunked file-transfer uploads,
 * `sys crypto cert install`, `sys file ssl-*` without a cachePath and `adc fileobject ssl-*` with one, client-ssl
 * profiles whose certKeyChain (one entry per key type) a virtual server serves, the management httpd certificate
 * that changes only after `restart` on `sys service httpd`, running vs saved configuration (`save` on `sys config`,
 * `reboot()`), and optionally a device group with one peer kept in step by `config-sync to-group`.
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
  private readonly tokens = new Map<string, { expires: number; user: string }>();
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
  /** Files outside the filestore: CSR files under /config/ssl/ssl.csr/ and what was moved to the bulk folder. */
  readonly files = new Map<string, string>();
  /** What `save sys config` last wrote (the factory state until then). */
  private saved: SavedConfig;
  /** The device group's peer, when there is one, and whether the running configuration changed since a sync. */
  readonly peer: PeerConfig | undefined;
  private syncState: 'In Sync' | 'Changes Pending' | 'Not All Devices Synced' = 'In Sync';
  syncMs = 150;
  private readonly roles: Record<string, F5Role>;
  readonly deviceGroup: string | undefined;
  private objectIds = 29_300;

  constructor(
    readonly hostname: string,
    private readonly users: Record<string, string>,
    options: F5SimulatorOptions = {},
  ) {
    this.roles = options.roles ?? {};
    this.deviceGroup = options.deviceGroup;
    const factory = selfSignedPems([hostname]);
    this.keys.set('/Common/default.key', factory.keyPem);
    this.certificates.set('/Common/default.crt', factory.chainPem);
    this.profiles.set('/Common/clientssl', { certKeyChain: [this.factoryEntry()] });
    this.httpd = {
      sslCertfile: '/etc/httpd/conf/ssl.crt/server.crt',
      sslCertkeyfile: '/etc/httpd/conf/ssl.key/server.key',
      sslCertchainfile: 'none',
    };
    this.keys.set(this.httpd.sslCertkeyfile, factory.keyPem);
    this.certificates.set(this.httpd.sslCertfile, factory.chainPem);
    this.runningHttpd = { ...this.httpd };
    this.saved = this.snapshot();
    this.peer = this.deviceGroup
      ? { profiles: copyProfiles(this.profiles), objects: this.objectNames() }
      : undefined;
  }

  private factoryEntry(): ChainEntry {
    return { name: 'default', cert: '/Common/default.crt', key: '/Common/default.key', chain: 'none' };
  }

  /**
   * Adds a client-ssl profile served by the virtual server, starting with the factory certificate; `dual` adds an
   * RSA entry beside the factory ECDSA one, as a profile serving both key types has.
   */
  addClientSslProfile(name: string, options: { dual?: boolean } = {}): void {
    const certKeyChain = [this.factoryEntry()];
    if (options.dual) {
      const rsa = selfSignedRsa(this.hostname);
      this.keys.set('/Common/rsa-default.key', rsa.keyPem);
      this.certificates.set('/Common/rsa-default.crt', rsa.certPem);
      certKeyChain.push({
        name: 'rsa-default',
        cert: '/Common/rsa-default.crt',
        key: '/Common/rsa-default.key',
        chain: 'none',
      });
    }
    this.profiles.set(`/Common/${name}`, { certKeyChain });
    this.saved = this.snapshot();
    if (this.peer) {
      this.peer.profiles = copyProfiles(this.profiles);
      this.peer.objects = this.objectNames();
    }
  }

  private objectNames(): Set<string> {
    return new Set([...this.keys.keys(), ...this.certificates.keys(), ...this.csrs.keys()]);
  }

  private snapshot(): SavedConfig {
    return { profiles: copyProfiles(this.profiles), httpd: { ...this.httpd }, objects: this.objectNames() };
  }

  /** A change to the running configuration: the device group's sync status turns to Changes Pending. */
  private changed(): void {
    if (this.peer) this.syncState = 'Changes Pending';
  }

  /**
   * A reboot: the running configuration becomes the saved one. Objects created since the last save are gone;
   * saved objects whose files were deleted since cannot be loaded, and each binding to them is reported.
   */
  reboot(): string[] {
    const problems: string[] = [];
    for (const store of [this.keys, this.certificates, this.csrs] as Map<string, unknown>[])
      for (const path of [...store.keys()]) if (!this.saved.objects.has(path)) store.delete(path);
    const exists = (path: string) => path === 'none' || this.keys.has(path) || this.certificates.has(path);
    this.profiles.clear();
    for (const [name, profile] of copyProfiles(this.saved.profiles)) {
      for (const e of profile.certKeyChain)
        for (const ref of [e.cert, e.key, e.chain])
          if (!exists(ref))
            problems.push(`01070712:3: Values (${ref}) specified for ssl profile ${name}: not found`);
      this.profiles.set(name, profile);
    }
    this.httpd = { ...this.saved.httpd };
    for (const file of Object.values(this.httpd))
      if (!this.resolve(file)) problems.push(`httpd: ${file} does not exist`);
    if (problems.length === 0) {
      this.runningHttpd = { ...this.httpd };
      this.management?.setSecureContext(this.httpdContext());
      this.virtualServer?.setSecureContext(this.profileContext());
    }
    return problems;
  }

  /** Which profile the virtual server uses. */
  virtualServerProfile = '/Common/clientssl';

  async start(): Promise<void> {
    this.management = createServer(this.httpdContext(), (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks)));
    });
    // While httpd restarts nothing listens: a connection is dropped before any handshake.
    this.management.on('connection', (s: Socket) => {
      if (Date.now() < this.restartingUntil) s.destroy();
    });
    this.management.on('secureConnection', (s) => {
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

  private httpdContext(): { key: string; cert: string } {
    const key = this.resolve(this.runningHttpd.sslCertkeyfile)!;
    const cert = this.resolve(this.runningHttpd.sslCertfile)!;
    return this.served(key, cert, this.resolve(this.runningHttpd.sslCertchainfile) ?? 'none');
  }

  /** Every entry of the profile is served; the TLS stack picks the one the client's algorithms allow. */
  private profileContext(): { key: string[]; cert: string[] } {
    const entries = this.profiles.get(this.virtualServerProfile)!.certKeyChain;
    const served = entries.map((e) => this.served(e.key, e.cert, e.chain));
    return { key: served.map((s) => s.key), cert: served.map((s) => s.cert) };
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
    const session = this.tokens.get(token);
    if (!token)
      return this.restError(
        res,
        401,
        'Authorization failed: no user authentication header or token detected. Uri:http://localhost:8100' +
          `${path} Referrer:127.0.0.1 Sender:127.0.0.1`,
      );
    if (session === undefined || session.expires < Date.now()) {
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
    if (req.method === 'DELETE' && path.startsWith('/mgmt/shared/authz/tokens/')) {
      this.tokens.delete(decodeURIComponent(path.slice('/mgmt/shared/authz/tokens/'.length)));
      return this.send(res, 200, { kind: 'shared:authz:tokens:authtokenitemstate' });
    }
    if (req.method === 'POST' && path.startsWith('/mgmt/shared/file-transfer/uploads/'))
      return this.upload(req, res, decodeURIComponent(path.split('/').pop()!), body);
    if (req.method === 'GET' && path.startsWith('/mgmt/shared/file-transfer/bulk/'))
      return this.download(req, res, decodeURIComponent(path.split('/').pop()!));
    if (req.method === 'POST' && path === '/mgmt/tm/util/bash' && this.roles[session.user] === 'manager')
      return this.restError(
        res,
        401,
        `Authorization failed: user=https://localhost/mgmt/shared/authz/users/${session.user} resource=${path} ` +
          `verb=POST uri:http://localhost:8100${path} referrer:127.0.0.1 sender:127.0.0.1`,
      );
    this.route(req.method ?? '', path, res, json);
  }

  private route(method: string, path: string, res: ServerResponse, json: () => Json) {
    const key = `${method} ${path}`;
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
    if (key === 'POST /mgmt/tm/util/unix-mv' || key === 'POST /mgmt/tm/util/unix-rm')
      return this.unixFile(res, path.endsWith('mv') ? 'mv' : 'rm', json());
    if (key === 'POST /mgmt/tm/sys/crypto/cert') return this.installCert(res, json());
    if (key === 'POST /mgmt/tm/sys/config') return this.saveConfig(res, json());
    const fileObject = /^\/mgmt\/tm\/adc\/fileobject\/(ssl-cert|ssl-key)(?:\/~Common~([^/]+))?$/.exec(path);
    if (method === 'GET' && fileObject)
      return this.fileObject(
        res,
        fileObject[1]!,
        fileObject[2] && `/Common/${decodeURIComponent(fileObject[2])}`,
      );
    const object =
      /^\/mgmt\/tm\/(sys\/crypto\/(?:cert|key|csr)|sys\/file\/(?:ssl-cert|ssl-key|ssl-csr)|ltm\/profile\/client-ssl)\/~Common~([^/]+)$/.exec(
        path,
      );
    if (object)
      return this.object(method, res, object[1]!, `/Common/${decodeURIComponent(object[2]!)}`, json());
    if (path === '/mgmt/tm/sys/httpd') {
      if (method === 'GET') return this.send(res, 200, { kind: 'tm:sys:httpd:httpdstate', ...this.httpd });
      if (method === 'PATCH') return this.patchHttpd(res, json());
    }
    const service = /^\/mgmt\/tm\/sys\/service\/([a-z0-9_.-]+)$/.exec(path);
    if (method === 'POST' && service) return this.service(res, service[1]!, json());
    if (key === 'POST /mgmt/tm/sys/service')
      return this.fail(
        res,
        400,
        'Method not allowed: the service collection has no create; name the service',
      );
    if (path.startsWith('/mgmt/tm/cm/') || path === '/mgmt/tm/cm') return this.cm(method, path, res, json);
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
    this.tokens.set(token, { expires: Date.now() + this.tokenTtlMs, user });
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
    this.changed();
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
        this.files.set(`${CSR_DIR}${String(body.name)}`, csr.toString());
        this.changed();
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
    this.changed();
    this.send(res, 200, {
      kind: 'tm:sys:crypto:cert:certstate',
      name: body.name,
      fullPath: path,
      command: 'install',
    });
  }

  private inUse(path: string): boolean {
    const refs = [
      ...[...this.profiles.values()].flatMap((p) => p.certKeyChain.flatMap((e) => [e.cert, e.key, e.chain])),
      ...Object.values(this.httpd),
      ...Object.values(this.runningHttpd),
    ];
    return refs.some((r) => r === path || r === this.cachePath(path));
  }

  private readonly ids = new Map<string, number>();

  /** Where the filestore keeps an object: …/certificate[_key]_d/:Common:<name>_<object id>_<revision>. */
  private cachePath(path: string): string {
    if (!this.ids.has(path)) this.ids.set(path, this.objectIds++);
    const name = path.split('/').pop()!;
    const folder = name.endsWith('.key') ? 'certificate_key_d' : 'certificate_d';
    return `${FILESTORE}/${folder}/:Common:${name}_${this.ids.get(path)}_1`;
  }

  /** `adc fileobject ssl-cert|ssl-key`: the filestore view, the one that carries `cachePath`. */
  private fileObject(res: ServerResponse, kind: string, path: string | undefined) {
    const store = kind === 'ssl-key' ? this.keys : this.certificates;
    const item = (fullPath: string) => ({
      cachePath: this.cachePath(fullPath),
      systemPath: '',
      name: fullPath.split('/').pop(),
      fullPath,
      authPartition: '/Common',
      kind: `tm:adc:fileobject:${kind}:fileobjectitemstate`,
      selfLink: `https://localhost/mgmt/tm/adc/fileobject/${kind}/${fullPath.replace(/\//g, '~')}`,
    });
    const paths = [...store.keys()].filter((p) => p.startsWith('/Common/'));
    if (path === undefined)
      return this.send(res, 200, {
        items: paths.map(item),
        kind: `tm:adc:fileobject:${kind}:fileobjectcollectionstate`,
        selfLink: `https://localhost/mgmt/tm/adc/fileobject/${kind}`,
      });
    if (!store.has(path)) return this.restError(res, 404, `Object not found: ${path}`);
    this.send(res, 200, item(path));
  }

  private keyTypeOf(path: string): string {
    const pem = this.keys.get(path) ?? this.certificates.get(path);
    const type = pem?.includes('PRIVATE KEY')
      ? createPrivateKey(pem).asymmetricKeyType
      : pem && new X509Certificate(pem).publicKey.asymmetricKeyType;
    const suffix = this.keys.has(path) ? 'private' : 'public';
    return type === 'ec' ? `ec-${suffix}` : `rsa-${suffix}`;
  }

  private object(method: string, res: ServerResponse, kind: string, path: string, body: Json) {
    if (kind === 'ltm/profile/client-ssl') return this.clientSsl(method, res, path, body);
    const store = kind.endsWith('key') ? this.keys : kind.endsWith('csr') ? this.csrs : this.certificates;
    if (!store.has(path))
      return this.fail(res, 404, `01020036:3: The requested object (${path}) was not found.`);
    if (method === 'GET') {
      // sys file ssl-* and sys crypto * carry no cachePath (recorded 14.1 answers): only adc fileobject does.
      const kindName = kind.replace(/\//g, ':');
      const base = { kind: `tm:${kindName}:${kindName.split(':').pop()}state`, name: path.split('/').pop() };
      return this.send(res, 200, {
        ...base,
        partition: 'Common',
        fullPath: path,
        ...(store === this.csrs ? {} : { keyType: this.keyTypeOf(path) }),
      });
    }
    if (method === 'DELETE') {
      if (this.inUse(path))
        return this.fail(res, 400, `01070621:3: ${path} is in use by a profile or the management interface`);
      store.delete(path);
      this.changed();
      return this.send(res, 200, {});
    }
    this.fail(res, 405, `${method} not supported on ${kind}`);
  }

  private clientSsl(method: string, res: ServerResponse, path: string, body: Json) {
    const profile = this.profiles.get(path);
    if (!profile)
      return this.fail(res, 404, `01020036:3: The requested Client SSL Profile (${path}) was not found.`);
    const state = () => ({
      kind: 'tm:ltm:profile:client-ssl:client-sslstate',
      name: path.split('/').pop(),
      partition: 'Common',
      fullPath: path,
      cert: profile.certKeyChain[0]?.cert,
      key: profile.certKeyChain[0]?.key,
      chain: profile.certKeyChain[0]?.chain,
      certKeyChain: profile.certKeyChain.map((e) => ({
        ...e,
        appService: 'none',
        certReference: { link: `https://localhost/mgmt/tm/sys/file/ssl-cert/${e.cert.replace(/\//g, '~')}` },
        keyReference: { link: `https://localhost/mgmt/tm/sys/file/ssl-key/${e.key.replace(/\//g, '~')}` },
        usage: 'SERVER',
      })),
    });
    if (method === 'GET') return this.send(res, 200, state());
    if (method !== 'PATCH') return this.fail(res, 405, `${method} not supported on client-ssl`);
    const entries = body.certKeyChain as ChainEntry[] | undefined;
    if (!entries?.length) return this.fail(res, 400, '01070734:3: certKeyChain is required');
    const problem = this.chainProblem(path, entries);
    if (problem) return this.fail(res, 400, problem);
    // A PATCH of certKeyChain replaces the whole list (f5-ansible bigip_profile_client_ssl sends the full list).
    profile.certKeyChain = entries.map(({ name, cert, key, chain }) => ({
      name,
      cert,
      key,
      chain: chain ?? 'none',
    }));
    this.changed();
    if (path === this.virtualServerProfile) this.virtualServer?.setSecureContext(this.profileContext());
    this.send(res, 200, state());
  }

  /** Why the entries cannot be used: a missing object, a key that does not match, two entries of one key type. */
  private chainProblem(path: string, entries: ChainEntry[]): string | undefined {
    const types = new Set<string>();
    for (const entry of entries) {
      const keyPem = this.keys.get(entry.key);
      const certPem = this.certificates.get(entry.cert);
      const chain = entry.chain ?? 'none';
      if (!keyPem || !certPem || (chain !== 'none' && !this.certificates.get(chain)))
        return `01070712:3: Values (${entry.cert}) specified for ssl profile ${path}: not found`;
      if (
        this.faults.delete('profileUpdateFail') ||
        !new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))
      )
        return `01070313:3: Error reading key PEM file ${entry.key} for profile ${path}: error:0B080074:x509 certificate routines:X509_check_private_key:key values mismatch`;
      const type = this.keyTypeOf(entry.key);
      if (types.has(type))
        return `01071b1c:3: Client SSL profile (${path}): more than one certificate/key pair of type ${type}`;
      types.add(type);
    }
    return undefined;
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
    this.changed();
    this.send(res, 200, { kind: 'tm:sys:httpd:httpdstate', ...this.httpd });
  }

  /** `restart` on `sys service httpd`: connections are refused while it restarts, then the new configuration serves. */
  private service(res: ServerResponse, name: string, body: Json) {
    if (body.command !== 'restart' || name !== 'httpd')
      return this.fail(res, 400, 'only restart of httpd is simulated');
    this.send(res, 200, { kind: 'tm:sys:service:servicestate', name: 'httpd', command: 'restart' });
    this.restartingUntil = Date.now() + this.restartMs;
    setTimeout(() => {
      for (const s of this.sockets) if (!s.destroyed && s.localPort === this.port) s.destroy();
    }, 10);
    setTimeout(() => {
      if (!this.faults.has('httpdRestartServesOld')) this.runningHttpd = { ...this.httpd };
      this.management?.setSecureContext(this.httpdContext());
    }, this.restartMs);
  }

  /** `save` on `sys config`: the running configuration becomes what a reboot loads. */
  private saveConfig(res: ServerResponse, body: Json) {
    if (body.command !== 'save')
      return this.fail(res, 400, `01070734:3: unsupported command ${String(body.command)}`);
    this.saved = this.snapshot();
    this.send(res, 200, { kind: 'tm:sys:config:runstate', command: 'save' });
  }

  /** `util unix-mv` / `util unix-rm`: a failure is reported in commandResult of a 200 answer, as /bin/mv says it. */
  private unixFile(res: ServerResponse, verb: 'mv' | 'rm', body: Json) {
    const args = String(body.utilCmdArgs ?? '')
      .split(' ')
      .filter(Boolean);
    const answer = (commandResult?: string) =>
      this.send(res, 200, {
        kind: `tm:util:unix-${verb}:runstate`,
        command: 'run',
        utilCmdArgs: body.utilCmdArgs,
        ...(commandResult ? { commandResult } : {}),
      });
    if (body.command !== 'run' || args.length !== (verb === 'mv' ? 2 : 1))
      return this.fail(res, 400, `invalid utilCmdArgs for unix-${verb}`);
    const [from, to] = args as [string, string | undefined];
    const content = this.files.get(from);
    if (content === undefined)
      return answer(
        `/bin/${verb}: cannot ${verb === 'mv' ? 'stat' : 'remove'} ‘${from}’: No such file or directory\n`,
      );
    if (to !== undefined && !to.startsWith(BULK) && !to.startsWith(CSR_DIR))
      return answer(`/bin/mv: cannot move ‘${from}’ to ‘${to}’: Permission denied\n`);
    this.files.delete(from);
    if (to !== undefined) this.files.set(to, content);
    answer();
  }

  /**
   * `file-transfer/bulk/<file>`: chunked by Content-Range (start-end/total); a range reaching past the file is
   * answered 400 with the file's own Content-Range, which is how f5-common-python learns the size.
   */
  private download(req: IncomingMessage, res: ServerResponse, file: string) {
    const content = this.files.get(`${BULK}${file}`);
    if (content === undefined) return this.restError(res, 404, `File not found: ${BULK}${file}`);
    const data = Buffer.from(content);
    const range = /^(\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
    const [start, end] = range ? [Number(range[1]), Number(range[2])] : [0, data.length - 1];
    if (start > end || end >= data.length) {
      res.writeHead(400, {
        'content-type': 'application/json; charset=UTF-8',
        'content-range': `0-${data.length - 1}/${data.length}`,
      });
      res.end(JSON.stringify({ code: 400, message: 'Content-Range past the end of the file' }));
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-range': `${start}-${end}/${data.length}`,
    });
    res.end(data.subarray(start, end + 1));
  }

  /** `cm device-group`, `run cm config-sync to-group`, `cm sync-status` (the recorded 14.1 stats shape). */
  private cm(method: string, path: string, res: ServerResponse, json: () => Json) {
    const group = (name: string) => ({
      kind: 'tm:cm:device-group:device-groupstate',
      name,
      partition: 'Common',
      fullPath: `/Common/${name}`,
      autoSync: 'disabled',
      saveOnAutoSync: 'false',
      networkFailover: 'enabled',
      type: 'sync-failover',
    });
    const groupItem = /^\/mgmt\/tm\/cm\/device-group\/~Common~([^/]+)$/.exec(path);
    if (method === 'GET' && groupItem) {
      const name = decodeURIComponent(groupItem[1]!);
      if (name !== this.deviceGroup)
        return this.fail(res, 404, `01020036:3: The requested device group (/Common/${name}) was not found.`);
      return this.send(res, 200, group(name));
    }
    if (method === 'GET' && path === '/mgmt/tm/cm/sync-status') return this.send(res, 200, this.syncStatus());
    if (method === 'POST' && path === '/mgmt/tm/cm') return this.configSync(res, json());
    this.restError(res, 404, `Public URI path not registered: ${path}`);
  }

  private syncStatus(): Json {
    const status = !this.peer
      ? 'Standalone'
      : this.faults.has('peerDisconnected')
        ? 'Disconnected'
        : this.syncState;
    const colors: Record<string, string> = { Standalone: 'green', 'In Sync': 'green', Disconnected: 'red' };
    const color = colors[status] ?? 'blue';
    const details =
      status === 'Changes Pending'
        ? `${this.deviceGroup} (Changes Pending): There is a possible change conflict; Recommended action: Synchronize ${this.hostname} to group ${this.deviceGroup}`
        : status === 'Standalone'
          ? 'Optional action: Add a device to the trust domain'
          : `${this.deviceGroup} (${status})`;
    return {
      kind: 'tm:cm:sync-status:sync-statusstats',
      selfLink: 'https://localhost/mgmt/tm/cm/sync-status?ver=14.1.2.1',
      entries: {
        'https://localhost/mgmt/tm/cm/sync-status/0': {
          nestedStats: {
            entries: {
              color: { description: color },
              'https://localhost/mgmt/tm/cm/syncStatus/0/details': {
                nestedStats: {
                  entries: {
                    'https://localhost/mgmt/tm/cm/syncStatus/0/details/0': {
                      nestedStats: { entries: { details: { description: details } } },
                    },
                  },
                },
              },
              mode: { description: this.peer ? 'high-availability' : 'standalone' },
              status: { description: status },
              summary: { description: ' ' },
            },
          },
        },
      },
    };
  }

  /** `config-sync to-group <group>`: the peer takes this device's synced configuration after `syncMs`. */
  private configSync(res: ServerResponse, body: Json) {
    const sync = /^config-sync to-group (\S+)$/.exec(String(body.utilCmdArgs ?? ''));
    if (body.command !== 'run' || !sync) return this.fail(res, 400, '01070734:3: unsupported cm command');
    if (!this.peer || sync[1] !== this.deviceGroup)
      return this.fail(
        res,
        400,
        `01070734:3: Configuration error: device group (/Common/${sync[1]}) was not found`,
      );
    this.send(res, 200, { kind: 'tm:cm:runstate', command: 'run', utilCmdArgs: body.utilCmdArgs });
    if (this.faults.has('peerDisconnected')) return;
    this.syncState = 'Not All Devices Synced';
    const peer = this.peer;
    const profiles = copyProfiles(this.profiles);
    const objects = this.objectNames();
    setTimeout(() => {
      peer.profiles = profiles;
      peer.objects = objects;
      if (this.syncState === 'Not All Devices Synced') this.syncState = 'In Sync';
    }, this.syncMs);
  }

  /** What each listener presents now (for assertions): httpd's files and the virtual server's profile entries. */
  servedPaths(): { httpd: HttpdConfig; profile: ChainEntry; entries: ChainEntry[] } {
    const entries = this.profiles.get(this.virtualServerProfile)!.certKeyChain;
    return { httpd: this.runningHttpd, profile: entries[0]!, entries };
  }

  /** What a reboot would load (for assertions). */
  savedConfig(): { profiles: Map<string, Profile>; httpd: HttpdConfig } {
    return { profiles: copyProfiles(this.saved.profiles), httpd: { ...this.saved.httpd } };
  }
}
