import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import * as acme from 'acme-client';
import { XMLParser } from 'fast-xml-parser';
import { selfSignedPems } from '../self-signed.ts';

// Every behaviour below is traced to its public source in test/lab/panos/BEHAVIOUR.md.

const parser = new XMLParser({
  ignoreAttributes: false,
  parseTagValue: false,
  isArray: (n) => n === 'member',
});
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
// biome-ignore lint/suspicious/noExplicitAny: parsed XML of whatever shape the request had
type Doc = Record<string, any>;

interface CertEntry {
  keyPem: string;
  csrPem?: string;
  chainPem?: string;
}

/** One configuration (running, or the candidate as running plus the pending changes). */
interface Config {
  /** ssl-tls-service-profile name → certificate name */
  profiles: Map<string, string>;
  /** deviceconfig/system/ssl-tls-service-profile; none: the management server serves its built-in certificate. */
  mgmtProfile: string | undefined;
  /** The certificate entries of /config/shared/certificate. */
  certificates: Set<string>;
  /** Any other node an admin changed (an address object, a rule…), by name. */
  others: Set<string>;
}

/** An uncommitted change of one admin: the node it marks (admin/dirtyId/time) and what it does. */
interface Change {
  admin: string;
  dirtyId: number;
  time: string;
  node: string;
  apply(config: Config): void;
  /** Why a commit that includes this change fails (a validation error of that admin's work). */
  invalid?: string;
}

interface Job {
  id: number;
  finishAt: number;
  changes: Change[];
  admin: string;
  status: 'ACT' | 'FIN';
  ok?: boolean;
  details?: string;
}

interface Lock {
  comment: string;
  until: number;
}

export type PanosFault = 'authFail' | 'commitFail' | 'errorOnImport' | 'dropOnImport';

export interface PanosSimulatorOptions {
  /** sw-version of `show system info`; before 10.0 `show admins` marks no entry as the caller's. Default 10.2.4. */
  swVersion?: string;
  /**
   * Start as a firewall an admin already configured: profile `mgmt-default` with the certificate `web-ui-cert` (a
   * config object) bound to management. Default: the factory state, no profile, the built-in certificate served.
   */
  adminProfile?: boolean;
  /** How long the management web server drops connections once a commit changed its certificate. Default 300. */
  restartMs?: number;
}

const clone = (c: Config): Config => ({
  profiles: new Map(c.profiles),
  mgmtProfile: c.mgmtProfile,
  certificates: new Set(c.certificates),
  others: new Set(c.others),
});

const panosTime = (at = new Date()) =>
  at
    .toISOString()
    .replace(/-/g, '/')
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');

const versionAtLeast = (version: string, major: number, minor: number) => {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
};

/**
 * A PAN-OS XML API simulator (9.x–11.x request shapes): API keys by keygen, one per admin; keys and CSRs generated
 * inside it; candidate vs running configuration with every admin's uncommitted changes, marked on the candidate's
 * nodes with `admin`/`dirtyId`/`time`; full and partial (per admin) commits as jobs polled with `show jobs`, where a
 * full commit carries — and fails on — every admin's changes; partial revert; config and commit locks; "another
 * commit is in progress"; a management web server that drops connections while it restarts after a commit changed
 * its certificate; a built-in management certificate that is no config object; errors as HTTP 200 with
 * status="error", and as HTTP 400/403 with the same XML body.
 */
export class PanosSimulator {
  private server: Server | undefined;
  port = 0;
  /** The API key keygen issues to the first user (the one the tests log in with). */
  apiKey = `LUFRPT${randomBytes(24).toString('base64url')}`;
  private readonly otherKeys = new Map<string, string>();
  private readonly store = new Map<string, CertEntry>();
  private builtIn: CertEntry | undefined;
  private running: Config = {
    profiles: new Map(),
    mgmtProfile: undefined,
    certificates: new Set(),
    others: new Set(),
  };
  private pending: Change[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextJob = 1;
  private nextDirty = 1;
  readonly configLocks = new Map<string, Lock>();
  readonly commitLocks = new Map<string, Lock>();
  /** Admins logged in besides the API's callers (people in the web interface), for `show admins`. */
  readonly loggedIn = new Set<string>();
  readonly faults = new Set<PanosFault>();
  commitDelayMs = 50;
  restartMs: number;
  private restartUntil = 0;
  /** Restarts of the management web server so far. */
  restarts = 0;
  readonly log: string[] = [];
  /** Every config request as `action xpath`, in order. */
  readonly configLog: string[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** The admin of the request being handled. */
  private caller = '';
  readonly swVersion: string;

  constructor(
    readonly hostname: string,
    private readonly users: Record<string, string>,
    private readonly options: PanosSimulatorOptions = {},
  ) {
    this.swVersion = options.swVersion ?? '10.2.4';
    this.restartMs = options.restartMs ?? 300;
  }

  async start(): Promise<number> {
    this.builtIn = selfSignedPems([this.hostname]);
    if (this.options.adminProfile) {
      this.store.set('web-ui-cert', selfSignedPems([this.hostname]));
      this.running.certificates.add('web-ui-cert');
      this.running.profiles.set('mgmt-default', 'web-ui-cert');
      this.running.mgmtProfile = 'mgmt-default';
    }
    const served = this.servedEntry();
    this.server = createServer({ key: served.keyPem, cert: served.chainPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks)));
    });
    this.server.on('secureConnection', (s) => {
      // While the management web server restarts, nothing answers.
      if (Date.now() < this.restartUntil) return s.destroy();
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The certificate entries of the candidate configuration, with their keys. */
  get certificates(): Map<string, CertEntry> {
    const candidate = this.candidate();
    return new Map([...this.store].filter(([name]) => candidate.certificates.has(name)));
  }

  /** The certificate name the running configuration serves on management; undefined: the built-in one. */
  servedCertificateName(): string | undefined {
    return this.running.mgmtProfile ? this.running.profiles.get(this.running.mgmtProfile) : undefined;
  }

  /** The management server's built-in certificate, served while no SSL/TLS service profile is bound. */
  builtInCertificate(): CertEntry {
    return this.builtIn!;
  }

  /** The uncommitted changes, as `admin node`. */
  pendingChanges(): string[] {
    return this.pending.map((c) => `${c.admin} ${c.node}`);
  }

  /** Another admin's uncommitted change: an object of their own, or the given profile's certificate. */
  pendingEdit(edit: { admin: string; invalid?: string; profile?: string; certificate?: string }): void {
    this.loggedIn.add(edit.admin);
    if (edit.profile) {
      const profile = edit.profile;
      const certificate = edit.certificate ?? 'their-cert';
      this.change(
        edit.admin,
        `profile:${profile}`,
        (c) => c.profiles.set(profile, certificate),
        edit.invalid,
      );
      return;
    }
    const name = `address-${this.nextDirty}`;
    this.change(edit.admin, `address:${name}`, (c) => c.others.add(name), edit.invalid);
  }

  /** `admin` holds a config or commit lock for `ms` (request config-lock / commit-lock add). */
  holdLock(kind: 'config' | 'commit', admin: string, ms: number, comment = 'maintenance'): void {
    this.loggedIn.add(admin);
    (kind === 'config' ? this.configLocks : this.commitLocks).set(admin, { comment, until: Date.now() + ms });
  }

  /** Another admin's commit job that runs for `ms`. */
  otherCommitRunning(admin: string, ms: number): void {
    this.loggedIn.add(admin);
    this.enqueue(admin, [], ms);
  }

  private servedEntry(): CertEntry {
    const name = this.servedCertificateName();
    const entry = name ? this.store.get(name) : undefined;
    return entry?.chainPem ? entry : this.builtIn!;
  }

  private candidate(): Config {
    const config = clone(this.running);
    for (const change of this.pending) change.apply(config);
    return config;
  }

  private change(admin: string, node: string, apply: (c: Config) => void, invalid?: string): void {
    this.pending.push({
      admin,
      node,
      dirtyId: this.nextDirty++,
      time: panosTime(),
      apply,
      ...(invalid ? { invalid } : {}),
    });
  }

  /** The attributes PAN-OS puts on a candidate node with uncommitted changes (pango util tests). */
  private dirty(node: string): string {
    const last = this.pending.filter((c) => c.node === node).at(-1);
    return last ? ` admin="${esc(last.admin)}" dirtyId="${last.dirtyId}" time="${last.time}"` : '';
  }

  private held(locks: Map<string, Lock>): [string, Lock][] {
    const now = Date.now();
    for (const [admin, lock] of locks) if (lock.until <= now) locks.delete(admin);
    return [...locks];
  }

  private lockedBy(locks: Map<string, Lock>): string | undefined {
    return this.held(locks).find(([admin]) => admin !== this.caller)?.[0];
  }

  private reply(res: ServerResponse, body: string, contentType = 'application/xml', status = 200): void {
    res.writeHead(status, { 'content-type': contentType });
    res.end(body);
  }

  /** An error answer; codes 400 and 403 travel as HTTP 400/403 with the XML body, the others as HTTP 200. */
  private error(res: ServerResponse, message: string, code: number | null = 17): void {
    if (code === 400 || code === 403) {
      this.reply(
        res,
        `<response status = 'error' code = '${code}'><result><msg>${esc(message)}</msg></result></response>`,
        'application/xml; charset=UTF-8',
        code,
      );
      return;
    }
    this.reply(
      res,
      `<response status="error"${code === null ? '' : ` code="${code}"`}><msg><line>${esc(message)}</line></msg></response>`,
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

  /** The admin an API key belongs to, if any. */
  private adminOf(key: unknown): string | undefined {
    if (this.faults.has('authFail') || typeof key !== 'string') return undefined;
    if (key === this.apiKey) return Object.keys(this.users)[0];
    return [...this.otherKeys].find(([, k]) => k === key)?.[0];
  }

  private keygen(req: IncomingMessage, res: ServerResponse, p: URLSearchParams) {
    if (req.method !== 'POST') return this.error(res, 'keygen must be a POST here', 400);
    const user = p.get('user') ?? '';
    if (this.faults.has('authFail') || this.users[user] !== p.get('password'))
      return this.error(res, 'Invalid Credential', 403);
    const first = user === Object.keys(this.users)[0];
    if (!first && !this.otherKeys.has(user))
      this.otherKeys.set(user, `LUFRPT${randomBytes(24).toString('base64url')}`);
    return this.success(res, `<result><key>${first ? this.apiKey : this.otherKeys.get(user)}</key></result>`);
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: Buffer) {
    // While the management web server restarts, every connection is dropped (pan-os-python syncjob retries them).
    if (Date.now() < this.restartUntil) {
      req.socket.destroy();
      return;
    }
    const p = this.params(req, body);
    const type = p.get('type') ?? '';
    this.log.push(`${req.method} ${type}${p.get('action') ? `/${p.get('action')}` : ''}`);
    if (new URL(req.url ?? '/', 'https://x').searchParams.has('key'))
      return this.error(res, 'API keys in URLs are not accepted by this lab', 400);
    if (type === 'keygen') return this.keygen(req, res, p);
    const admin = this.adminOf(req.headers['x-pan-key']);
    if (!admin) return this.error(res, 'Invalid Credential', 403);
    this.caller = admin;
    switch (type) {
      case 'op':
        return this.op(res, p.get('cmd') ?? '');
      case 'export':
        return this.exportCsr(res, p);
      case 'import':
        return this.importCert(req, res, p, body);
      case 'config':
        return this.config(res, p);
      case 'commit':
        return this.commit(res, p);
      default:
        return this.error(res, `Unknown request type ${type}`, 400);
    }
  }

  /** `type=commit`: the changes of the named admins (partial) or of every admin (full), as a job. */
  private commit(res: ServerResponse, p: URLSearchParams) {
    const doc = parser.parse(p.get('cmd') ?? '') as Doc;
    if (doc.commit === undefined) return this.error(res, 'Invalid syntax.', 400);
    if ([...this.jobs.values()].some((j) => j.status === 'ACT'))
      return this.error(res, 'Another commit/validate is in progress. Please try again later', null);
    const holder = this.lockedBy(this.commitLocks);
    if (holder) return this.error(res, `Commit is locked by ${holder}`, null);
    const members: string[] | undefined = doc.commit?.partial?.admin?.member?.map(String);
    const changes = this.pending.filter((c) => !members || members.includes(c.admin));
    if (changes.length === 0)
      return this.reply(
        res,
        '<response status="success" code="19"><msg>There are no changes to commit.</msg></response>',
      );
    const id = this.enqueue(this.caller, changes, this.commitDelayMs);
    return this.success(
      res,
      `<result><msg><line>Commit job enqueued with jobid ${id}</line></msg><job>${id}</job></result>`,
    );
  }

  private enqueue(admin: string, changes: Change[], delayMs: number): number {
    const id = this.nextJob++;
    this.jobs.set(id, { id, admin, changes, finishAt: Date.now() + delayMs, status: 'ACT' });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.finish(id);
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
    return id;
  }

  /** Why committing `changes` on top of running fails, or undefined: every reference must resolve. */
  private validate(changes: Change[]): string | undefined {
    // commitFail fails the next commit only, as a commit refused for the configuration it carried would.
    if (changes.length > 0 && this.faults.delete('commitFail'))
      return 'Validation Error: ssl-tls-service-profile certificate is invalid';
    const invalid = changes.find((c) => c.invalid);
    if (invalid) return invalid.invalid;
    const next = clone(this.running);
    for (const change of changes) change.apply(next);
    for (const [profile, certificate] of next.profiles)
      if (!next.certificates.has(certificate))
        return `Validation Error: ssl-tls-service-profile ${profile} certificate '${certificate}' is not a valid reference`;
    if (next.mgmtProfile && !next.profiles.has(next.mgmtProfile))
      return `Validation Error: deviceconfig system ssl-tls-service-profile '${next.mgmtProfile}' is not a valid reference`;
    return undefined;
  }

  private finish(id: number): void {
    const job = this.jobs.get(id)!;
    const problem = this.validate(job.changes);
    job.status = 'FIN';
    job.ok = problem === undefined;
    job.details = problem ?? 'Configuration committed successfully';
    if (!job.ok) return;
    const before = this.servedEntry();
    for (const change of job.changes) change.apply(this.running);
    this.pending = this.pending.filter((c) => !job.changes.includes(c));
    const after = this.servedEntry();
    if (after !== before) this.restartManagement(after);
  }

  /** A commit changed the management certificate: the web server restarts with it, dropping connections. */
  private restartManagement(entry: CertEntry): void {
    this.restarts++;
    this.restartUntil = Date.now() + this.restartMs;
    for (const s of this.sockets) s.destroy();
    this.server?.setSecureContext({ key: entry.keyPem, cert: entry.chainPem! });
  }

  private op(res: ServerResponse, cmd: string) {
    const doc = parser.parse(cmd) as Doc;
    if (doc.request?.certificate?.generate) return this.generate(res, doc.request.certificate.generate);
    if (doc.show?.jobs?.id !== undefined) return this.showJob(res, doc.show.jobs.id);
    if (doc.show?.system?.info !== undefined)
      return this.success(
        res,
        `<result><system><hostname>${esc(this.hostname)}</hostname><sw-version>${this.swVersion}</sw-version><model>PA-VM</model></system></result>`,
      );
    if (doc.show?.admins !== undefined) return this.showAdmins(res);
    if (doc.check?.['pending-changes'] !== undefined)
      return this.success(res, `<result>${this.pending.length > 0 ? 'yes' : 'no'}</result>`);
    if (doc.show?.['config-locks'] !== undefined)
      return this.showLocks(res, 'config-locks', this.configLocks);
    if (doc.show?.['commit-locks'] !== undefined)
      return this.showLocks(res, 'commit-locks', this.commitLocks);
    if (doc.revert?.config !== undefined) return this.revert(res, doc.revert.config);
    if (doc.load?.config?.from === 'running-config.xml') return this.revert(res, {});
    return this.error(res, 'Invalid syntax.');
  }

  /** `revert config` (every admin's changes) or `revert config partial admin [ … ]` (PAN-OS 10.0 CLI). */
  private revert(res: ServerResponse, config: Doc) {
    const members: string[] | undefined = config?.partial?.admin?.member?.map(String);
    this.pending = members ? this.pending.filter((c) => !members.includes(c.admin)) : [];
    return this.success(res, '<result>Candidate configuration reverted</result>');
  }

  private showAdmins(res: ServerResponse) {
    const marksSelf = versionAtLeast(this.swVersion, 10, 0);
    const admins = [this.caller, ...[...this.loggedIn].filter((a) => a !== this.caller)];
    const entries = admins.map(
      (admin) =>
        `<entry><admin>${esc(admin)}</admin><from>127.0.0.1</from><type>${admin === this.caller ? 'API' : 'Web'}</type><start-from>${panosTime()}</start-from><idle-for>00:00:00s</idle-for>${marksSelf && admin === this.caller ? '<self/>' : ''}</entry>`,
    );
    return this.success(res, `<result><admins>${entries.join('')}</admins></result>`);
  }

  private showLocks(res: ServerResponse, tag: string, locks: Map<string, Lock>) {
    const entries = this.held(locks).map(
      ([admin, lock]) =>
        `<entry name="${esc(admin)}"><name>shared</name><type>${tag === 'config-locks' ? 'config' : 'commit'}</type><loggedin>yes</loggedin><comment><![CDATA[${lock.comment}]]></comment></entry>`,
    );
    return this.success(res, `<result><${tag}>${entries.join('')}</${tag}></result>`);
  }

  private showJob(res: ServerResponse, id: unknown) {
    const job = this.jobs.get(Number(id));
    if (!job) return this.error(res, `job ${id} not found`);
    const done = job.status === 'FIN';
    const result = done ? (job.ok ? 'OK' : 'FAIL') : 'PEND';
    return this.success(
      res,
      `<result><job><tenq>${panosTime()}</tenq><id>${job.id}</id><user>${esc(job.admin)}</user><type>Commit</type><status>${job.status}</status><result>${result}</result><progress>${done ? 100 : 50}</progress><details>${done ? `<line>${esc(job.details!)}</line>` : ''}</details></job></result>`,
    );
  }

  private generate(res: ServerResponse, generate: Doc) {
    const name = String(generate['certificate-name'] ?? '');
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name))
      return this.error(res, `invalid certificate-name ${name}`);
    const holder = this.lockedBy(this.configLocks);
    if (holder) return this.error(res, `Config is locked by ${holder}`, null);
    if (this.candidate().certificates.has(name))
      return this.error(res, `A certificate with name ${name} already exists`);
    const cn = String(generate.name ?? '');
    const sans: string[] = (generate.hostname?.member ?? []).map(String);
    const ecdsa = generate.algorithm?.ECDSA;
    const { privateKey } = ecdsa
      ? generateKeyPairSync('ec', { namedCurve: Number(ecdsa['ecdsa-nbits']) === 384 ? 'P-384' : 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: Number(generate.algorithm?.RSA?.['rsa-nbits'] ?? 2048) });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const admin = this.caller;
    acme.crypto
      .createCsr({ commonName: cn, altNames: sans }, keyPem)
      .then(([, csr]) => {
        // The generated certificate is a candidate-config object of the admin who made it.
        this.store.set(name, { keyPem, csrPem: csr.toString() });
        this.change(admin, `certificate:${name}`, (c) => c.certificates.add(name));
        this.success(res, `<result>Successfully generated CSR ${esc(name)}</result>`);
      })
      .catch((e: Error) => this.error(res, e.message));
  }

  private exportCsr(res: ServerResponse, p: URLSearchParams) {
    if (p.get('category') !== 'certificate' || p.get('format') !== 'pkcs10' || p.get('include-key') !== 'no')
      return this.error(res, 'export supports category=certificate, format=pkcs10, include-key=no', 400);
    const name = p.get('certificate-name') ?? '';
    const entry = this.certificates.get(name);
    if (!entry?.csrPem) return this.error(res, `certificate ${name} has no CSR`);
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
    if (!leaf.checkPrivateKey(createPrivateKey(entry.keyPem)))
      return this.error(res, `Import of ${name} failed. Failed to find private key for certificate`);
    entry.chainPem = `${pems.join('\n')}\n`;
    this.change(this.caller, `certificate:${name}`, (c) => c.certificates.add(name));
    this.success(res, `<msg>Successfully imported ${esc(name)} into candidate configuration</msg>`);
  }

  private config(res: ServerResponse, p: URLSearchParams) {
    const action = p.get('action') ?? '';
    const xpath = p.get('xpath') ?? '';
    this.configLog.push(`${action} ${xpath}`);
    if (action === 'get') return this.configGet(res, xpath);
    const holder = this.lockedBy(this.configLocks);
    if (holder) return this.error(res, `Config is locked by ${holder}`, null);
    if (action === 'set') return this.configSet(res, xpath, p.get('element') ?? '');
    if (action === 'delete') return this.configDelete(res, xpath);
    return this.error(res, `unsupported config ${action} ${xpath}`);
  }

  /** A candidate node, with the attributes of its last uncommitted change. */
  private configGet(res: ServerResponse, xpath: string) {
    const candidate = this.candidate();
    const profile = /^\/config\/shared\/ssl-tls-service-profile\/entry\[@name='([^']+)'\]\/certificate$/.exec(
      xpath,
    );
    let node: string | undefined;
    if (profile) {
      const name = candidate.profiles.get(profile[1]!);
      if (name) node = `<certificate${this.dirty(`profile:${profile[1]}`)}>${esc(name)}</certificate>`;
    } else if (/\/deviceconfig\/system\/ssl-tls-service-profile$/.test(xpath)) {
      const name = candidate.mgmtProfile;
      if (name)
        node = `<ssl-tls-service-profile${this.dirty('system')}>${esc(name)}</ssl-tls-service-profile>`;
    } else return this.error(res, `unsupported config get ${xpath}`);
    return this.reply(
      res,
      `<response status="success" code="${node ? 19 : 7}"><result total-count="${node ? 1 : 0}" count="${node ? 1 : 0}">${node ?? ''}</result></response>`,
    );
  }

  private configSet(res: ServerResponse, xpath: string, elementXml: string) {
    const element = parser.parse(elementXml) as Record<string, unknown>;
    const profile = /^\/config\/shared\/ssl-tls-service-profile\/entry\[@name='([^']+)'\]$/.exec(xpath)?.[1];
    const candidate = this.candidate();
    if (profile) {
      const name = String(element.certificate ?? '');
      if (!candidate.certificates.has(name) || !this.store.get(name)?.chainPem)
        return this.error(
          res,
          `ssl-tls-service-profile ${profile}: certificate '${name}' is not a valid reference`,
        );
      this.change(this.caller, `profile:${profile}`, (c) => c.profiles.set(profile, name));
      return this.success(res);
    }
    if (/^\/config\/devices\/entry\[@name='localhost\.localdomain'\]\/deviceconfig\/system$/.test(xpath)) {
      const name = String(element['ssl-tls-service-profile'] ?? '');
      if (!candidate.profiles.has(name))
        return this.error(res, `ssl-tls-service-profile '${name}' is not a valid reference`);
      this.change(this.caller, 'system', (c) => {
        c.mgmtProfile = name;
      });
      return this.success(res);
    }
    return this.error(res, `unsupported config set ${xpath}`);
  }

  private configDelete(res: ServerResponse, xpath: string) {
    const candidate = this.candidate();
    if (/\/deviceconfig\/system\/ssl-tls-service-profile$/.test(xpath)) {
      if (!candidate.mgmtProfile)
        return this.reply(
          res,
          '<response status="success" code="7"><msg>Object doesn\'t exist</msg></response>',
        );
      this.change(this.caller, 'system', (c) => {
        c.mgmtProfile = undefined;
      });
      return this.success(res);
    }
    const name = /^\/config\/shared\/certificate\/entry\[@name='([^']+)'\]$/.exec(xpath)?.[1];
    if (!name) return this.error(res, `unsupported config delete ${xpath}`);
    if (!candidate.certificates.has(name))
      return this.reply(
        res,
        '<response status="success" code="7"><msg>Object doesn\'t exist</msg></response>',
      );
    const inUse = [...candidate.profiles.values(), ...this.running.profiles.values()].includes(name);
    if (inUse)
      return this.error(res, `${name} cannot be deleted because of references from ssl-tls-service-profile`);
    this.change(this.caller, `certificate:${name}`, (c) => c.certificates.delete(name));
    return this.success(res);
  }
}
