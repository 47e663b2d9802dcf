import { X509Certificate } from 'node:crypto';
import { done, notYet, poll, retry } from '../../util/poll.ts';
import { awaitServed } from '../../verify/await-served.ts';
import type { TlsEndpoint } from '../../verify/tls.ts';
import type {
  CsrRequest,
  DriverContext,
  DriverSession,
  InstallReceipt,
  PlatformDriver,
} from '../contract.ts';
import { guardedDriver } from '../shared/credential-guard.ts';
import { F5Client, type Json, urlName } from './client.ts';
import type { F5Options } from './index.ts';

/** A client-ssl profile's certKeyChain entry, by full path ("/Common/x.crt"), with any other field it has. */
interface Binding {
  name?: string;
  cert: string;
  key: string;
  chain: string;
  [field: string]: unknown;
}
interface HttpdFiles {
  sslCertfile: string;
  sslCertkeyfile: string;
  /** Absent when the device reports none (recorded 14.1 answers omit it): then it is never sent either. */
  sslCertchainfile?: string;
}

/** Where bigip_ssl_csr finds a CSR's file, and the folder file-transfer/bulk downloads from. */
const CSR_DIR = '/config/ssl/ssl.csr/';
const BULK_DIR = '/var/config/rest/bulk/';

const rotationObjects = (receipt: InstallReceipt) =>
  [receipt.cert, receipt.chain, receipt.csr, receipt.key].map(String).filter((p) => p !== 'none');

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_CSR = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]+?-----END CERTIFICATE REQUEST-----/;

const objectPath = (options: F5Options, name: string) => `/${options.partition}/${name}`;

/** The rotation's object names on the BIG-IP: `<certificate_prefix>-<rotation id>` and a suffix each. */
function rotationNames(options: F5Options, request: CsrRequest) {
  const prefix = options.certificatePrefix;
  const base = request.rotationId.startsWith(`${prefix}-`)
    ? request.rotationId
    : `${prefix}-${request.rotationId}`;
  return { key: `${base}.key`, csr: `${base}.csr`, cert: `${base}.crt`, chain: `${base}-chain.crt` };
}

/** Whether this tool created the object (its name starts with the prefix, in the configured partition). */
const ours = (options: F5Options, fullPath: string) =>
  fullPath.startsWith(`/${options.partition}/${options.certificatePrefix}-`);

/** Where f5-ansible deletes each kind: bigip_ssl_key / bigip_ssl_certificate on sys file, bigip_ssl_csr on sys crypto. */
const objectUrl = (fullPath: string) =>
  fullPath.endsWith('.key')
    ? `/mgmt/tm/sys/file/ssl-key/${urlName(fullPath)}`
    : fullPath.endsWith('.csr')
      ? `/mgmt/tm/sys/crypto/csr/${urlName(fullPath)}`
      : `/mgmt/tm/sys/file/ssl-cert/${urlName(fullPath)}`;

/** How sys file ssl-key's keyType begins for each key type a CSR request can ask for (rsa-private, ec-private). */
const KEY_TYPE_PREFIX: Record<CsrRequest['key']['type'], string> = { rsa: 'rsa', ecdsa: 'ec' };

/** A certKeyChain entry as it may be sent back: without the read-only links the device adds (certReference…). */
const writable = (entry: Binding): Binding =>
  Object.fromEntries(Object.entries(entry).filter(([field]) => !field.endsWith('Reference'))) as Binding;

/** Removes objects this rotation created and no longer needs; what is absent or still in use stays. */
async function removeQuietly(client: F5Client, fullPaths: string[]): Promise<void> {
  for (const fullPath of fullPaths) await client.send('DELETE', objectUrl(fullPath)).catch(() => {});
}

/**
 * Where the certificate is bound (route option `target`): what differs between a client-ssl profile and the
 * management httpd. Each remembers the binding in place at precheck, so that rollback can restore it.
 */
interface Target {
  /** Where verification looks for the new certificate. */
  readonly served: TlsEndpoint;
  /** Reads and remembers the binding in place. */
  remember(): Promise<void>;
  /** After install, before anything is bound: what bind needs is looked up, so a failure changes nothing. */
  prepare(receipt: InstallReceipt): Promise<void>;
  bind(receipt: InstallReceipt): Promise<void>;
  /** Binds what was remembered again (the new objects stay: the caller removes them). */
  restore(receipt: InstallReceipt): Promise<void>;
  /** The objects the previous binding used: cleanup removes those this tool created. */
  previousObjects(): string[];
}

/**
 * A client-ssl profile: the new certKeyChain is used by new connections at once. A profile holds at most one entry
 * per key type (RSA, DSA, ECDSA) and a PATCH replaces the whole list, so the list is sent back whole with only the
 * entry of the new key's type replaced.
 */
class ClientSslTarget implements Target {
  readonly served: TlsEndpoint;
  private previous: Binding[] = [];
  private keyTypes: string[] = [];
  private replaced = -1;

  constructor(
    private readonly client: F5Client,
    private readonly profile: string,
    device: DriverContext['device'],
  ) {
    const management = client.managementEndpoint;
    this.served = {
      host: management.host,
      port: device.connection?.tls_port ?? 443,
      servername: device.common_name,
    };
  }

  private get profileUrl() {
    return `/mgmt/tm/ltm/profile/client-ssl/${urlName(this.profile)}`;
  }

  async remember() {
    const current = await this.client.call('client-ssl profile read', 'GET', this.profileUrl);
    const entries = (current.certKeyChain as Binding[] | undefined) ?? [];
    if (entries.length === 0) throw new Error(`client-ssl profile ${this.profile} has no certKeyChain entry`);
    this.previous = entries.map(writable);
    this.keyTypes = [];
    // One entry is replaced whatever its type; only among several does the type say which one.
    if (entries.length === 1) return;
    for (const entry of entries) {
      const key = await this.client.call(`key read of ${entry.key}`, 'GET', objectUrl(entry.key));
      this.keyTypes.push(String(key.keyType ?? 'unknown'));
    }
  }

  async prepare(receipt: InstallReceipt) {
    const wanted = KEY_TYPE_PREFIX[receipt.keyType as CsrRequest['key']['type']];
    const matching = this.keyTypes.flatMap((type, i) => (type.startsWith(`${wanted}-`) ? [i] : []));
    const index = this.previous.length === 1 ? 0 : matching.length === 1 ? matching[0]! : -1;
    if (index < 0)
      throw new Error(
        `client-ssl profile ${this.profile} has ${this.previous.length} certKeyChain entries (${this.keyTypes.join(', ')}) and not exactly one for a ${wanted} key: refusing to guess which to replace`,
      );
    this.replaced = index;
  }

  async bind(receipt: InstallReceipt) {
    const { key, cert, chain } = receipt as unknown as Binding;
    const name = this.previous[this.replaced]?.name ?? 'default';
    const certKeyChain = this.previous.map((entry, i) =>
      i === this.replaced ? { name, cert, key, chain } : entry,
    );
    await this.client.call('client-ssl profile update', 'PATCH', this.profileUrl, { certKeyChain });
  }

  async restore() {
    if (this.previous.length === 0) throw new Error('the previous client-ssl binding is unknown');
    await this.client.call('client-ssl profile restore', 'PATCH', this.profileUrl, {
      certKeyChain: this.previous,
    });
  }

  previousObjects() {
    const entry = this.previous[this.replaced];
    return entry ? [entry.cert, entry.key, entry.chain] : [];
  }
}

/**
 * The management httpd (what Ottr did): `sys httpd` pointed at the installed objects' filestore files, activated
 * by restarting httpd, awaited by polling its handshake. Only `adc fileobject` reports where the filestore keeps
 * an object (`cachePath`); `sys file ssl-*` has no such field.
 */
class HttpdTarget implements Target {
  readonly served: TlsEndpoint;
  private previous: HttpdFiles | undefined;
  private next: HttpdFiles | undefined;

  constructor(
    private readonly client: F5Client,
    private readonly context: DriverContext<F5Options>,
  ) {
    this.served = client.managementEndpoint;
  }

  async remember() {
    const httpd = await this.client.call('httpd settings read', 'GET', '/mgmt/tm/sys/httpd');
    this.previous = {
      sslCertfile: String(httpd.sslCertfile),
      sslCertkeyfile: String(httpd.sslCertkeyfile),
      ...(typeof httpd.sslCertchainfile === 'string' ? { sslCertchainfile: httpd.sslCertchainfile } : {}),
    };
    // A rollback restarts httpd on these files: one the filestore no longer has would leave httpd without a
    // certificate, so such a binding is refused before anything changes.
    for (const [field, file] of Object.entries(this.previous)) {
      if (!file.startsWith('/config/filestore/')) continue;
      const kind = field === 'sslCertkeyfile' ? 'ssl-key' : 'ssl-cert';
      if (!(await this.cachePaths(kind)).includes(file))
        throw new Error(
          `sys httpd ${field} names ${file}, which adc fileobject ${kind} does not list: a rollback could not restore it`,
        );
    }
  }

  async prepare(receipt: InstallReceipt) {
    const { key, cert, chain } = receipt as unknown as Binding;
    const chainFile = chain === 'none' ? 'none' : await this.cachePath('ssl-cert', chain);
    if (chainFile !== 'none' && this.previous?.sslCertchainfile === undefined)
      this.context.log(
        'sys httpd reports no sslCertchainfile: httpd will serve the leaf without intermediates',
      );
    this.next = {
      sslCertkeyfile: await this.cachePath('ssl-key', key),
      sslCertfile: await this.cachePath('ssl-cert', cert),
      ...(this.previous?.sslCertchainfile !== undefined ? { sslCertchainfile: chainFile } : {}),
    };
  }

  async bind(receipt: InstallReceipt) {
    if (!this.next) throw new Error('the new httpd certificate files are unknown');
    await this.client.call('httpd update', 'PATCH', '/mgmt/tm/sys/httpd', this.next);
    await this.restart();
    const serial = String(receipt.leafSerial);
    await this.awaitServing((leaf) => leaf.serialNumber.toLowerCase() === serial, 'with the new certificate');
  }

  async restore(receipt: InstallReceipt) {
    if (!this.previous) throw new Error('the previous httpd certificate settings are unknown');
    await this.client.call('httpd restore', 'PATCH', '/mgmt/tm/sys/httpd', this.previous);
    await this.restart();
    const serial = String(receipt.leafSerial);
    await this.awaitServing(
      (leaf) => leaf.serialNumber.toLowerCase() !== serial,
      'with the previous certificate',
    );
  }

  previousObjects() {
    const objects: string[] = [];
    // httpd names filestore copies, e.g. …/certificate_d/:Common:ottr-x.crt_123_1 → /Common/ottr-x.crt
    for (const file of Object.values(this.previous ?? {})) {
      const object = /:([A-Za-z0-9_.-]+):([A-Za-z0-9_.-]+?\.(?:crt|key))_\d+(?:_\d+)?$/.exec(file);
      if (object) objects.push(`/${object[1]}/${object[2]}`);
    }
    return objects;
  }

  /** The `adc fileobject` collection of `kind`: the only view that reports where the filestore keeps objects. */
  private async fileObjects(kind: 'ssl-cert' | 'ssl-key'): Promise<Json[]> {
    const listed = await this.client.call(
      `${kind} file objects read`,
      'GET',
      `/mgmt/tm/adc/fileobject/${kind}`,
    );
    return (listed.items as Json[] | undefined) ?? [];
  }

  private async cachePaths(kind: 'ssl-cert' | 'ssl-key'): Promise<string[]> {
    return (await this.fileObjects(kind)).map((item) => String(item.cachePath ?? ''));
  }

  /** The filestore file of an object (found by fullPath in the collection, as airbnb/ottr's f5-14.x does). */
  private async cachePath(kind: 'ssl-cert' | 'ssl-key', fullPath: string): Promise<string> {
    const item = (await this.fileObjects(kind)).find((i) => i.fullPath === fullPath);
    if (typeof item?.cachePath !== 'string' || !item.cachePath)
      throw new Error(`F5 lookup of ${fullPath}: adc fileobject ${kind} reports no cachePath for it`);
    return item.cachePath;
  }

  /** `restart` on the service's own resource, as f5-common-python models sys service (Tmm: /sys/service/tmm). */
  private async restart(): Promise<void> {
    // httpd may cut this very connection while restarting: a dropped answer is expected, the polling decides.
    await this.client
      .call('restart of httpd', 'POST', '/mgmt/tm/sys/service/httpd', { command: 'restart' })
      .catch((e: Error) => {
        if (/^F5 /.test(e.message)) throw e;
        this.context.log(`the restart request's connection closed (${e.message}); waiting for httpd`);
      });
  }

  /** Polls the management interface's handshake until httpd is back and `served` accepts its leaf. */
  private async awaitServing(served: (leaf: X509Certificate) => boolean, what: string): Promise<void> {
    await awaitServed(
      this.served,
      (leaf) => (served(leaf) ? undefined : `serving serial ${leaf.serialNumber.toLowerCase()}`),
      {
        timeoutMs: this.context.options.restartTimeoutMs,
        signal: this.context.signal,
        what: `httpd did not come back ${what}`,
      },
    );
  }
}

/** The status and detail lines of `cm sync-status` (a stats document: entries → nestedStats → entries). */
function syncStatus(stats: Json): { status: string; details: string[] } {
  const details: string[] = [];
  let status = 'unknown';
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object') return;
    for (const [field, value] of Object.entries(node as Json)) {
      const description = (value as Json | undefined)?.description;
      if (field === 'status' && typeof description === 'string') status = description;
      else if (field === 'details' && typeof description === 'string') details.push(description);
      else walk(value);
    }
  };
  walk(stats.entries);
  return { status, details };
}

/**
 * `config-sync to-group` and a bounded wait for In Sync (f5-ansible bigip_configsync_action: Disconnected is final;
 * Changes Pending, Awaiting Initial Sync and Not All Devices Synced are passing states).
 */
async function syncToGroup(client: F5Client, context: DriverContext<F5Options>): Promise<void> {
  const { deviceGroup: group, syncTimeoutMs } = context.options;
  const what = `F5 config-sync to ${group}`;
  await client.call(`config-sync to ${group}`, 'POST', '/mgmt/tm/cm', {
    command: 'run',
    utilCmdArgs: `config-sync to-group ${group}`,
  });
  const outcome = await poll(
    async () => {
      const seen = syncStatus(await client.call('sync status read', 'GET', '/mgmt/tm/cm/sync-status'));
      const said = client.fromDevice([seen.status, ...seen.details].join('; '));
      if (seen.status === 'In Sync') return done(seen);
      if (seen.status === 'Disconnected') throw new Error(`${what}: ${said}`);
      return notYet(said);
    },
    { timeoutMs: syncTimeoutMs, signal: context.signal, initialDelayMs: 200 },
  );
  if (!outcome.ok)
    throw new Error(`${what}: not In Sync after ${Math.round(outcome.ms / 1000)} s (${outcome.reason})`);
}

/**
 * `save sys config` (POST /mgmt/tm/sys/config, command save, as f5-common-python's Config models it), so a reboot
 * loads what is running, then config-sync when the route names a device group, so the peer serves it on failover.
 */
async function persist(client: F5Client, context: DriverContext<F5Options>): Promise<void> {
  // Right after an httpd restart the interface may still drop connections: those (not F5's answers) are retried.
  await retry(
    () => client.call('save of the configuration', 'POST', '/mgmt/tm/sys/config', { command: 'save' }),
    {
      attempts: 5,
      retryable: (e) => !/^F5 /.test((e as Error).message),
      baseMs: 500,
      capMs: 5000,
      signal: context.signal,
    },
  );
  if (context.options.deviceGroup) await syncToGroup(client, context);
}

/** A new key and a CSR with every name made on the BIG-IP; the CSR read back with `tmsh list`. */
async function generateCsr(client: F5Client, options: F5Options, request: CsrRequest): Promise<string> {
  const { partition } = options;
  const n = rotationNames(options, request);
  const key =
    request.key.type === 'rsa'
      ? { keyType: 'rsa-private', keySize: request.key.size ?? 2048 }
      : { keyType: 'ec-private', curveName: request.key.curve === 'P-384' ? 'secp384r1' : 'prime256v1' };
  await client.call('key creation', 'POST', '/mgmt/tm/sys/crypto/key', {
    name: n.key,
    partition,
    securityType: 'normal',
    ...key,
  });
  await client.call('CSR creation', 'POST', '/mgmt/tm/sys/crypto/csr', {
    name: n.csr,
    partition,
    key: objectPath(options, n.key),
    commonName: request.names[0],
    subjectAlternativeName: request.names.map((name) => `DNS:${name}`).join(', '),
  });
  return readCsr(client, n.csr);
}

/** A `util unix-*` command; /bin/mv and /bin/rm report a failure in commandResult of a 200 answer. */
async function unix(client: F5Client, verb: 'mv' | 'rm', args: string): Promise<void> {
  const answer = await client.call(`unix-${verb} ${args}`, 'POST', `/mgmt/tm/util/unix-${verb}`, {
    command: 'run',
    utilCmdArgs: args,
  });
  const said = typeof answer.commandResult === 'string' ? answer.commandResult.trim() : '';
  if (said) throw new Error(`F5 unix-${verb}: ${client.fromDevice(said.slice(0, 200))}`);
}

/**
 * The CSR's PEM without `util bash` (refused to least-privilege users, hardened boxes and Appliance mode), as
 * f5-ansible's bigip_ssl_csr reads it: its file moved from /config/ssl/ssl.csr/ to the bulk folder, downloaded
 * through file-transfer/bulk, then moved back so the CSR object keeps its file (removed if that fails).
 * `csrName` is built from the rotation id ([a-z0-9-]) and the prefix ([A-Za-z0-9_-]): no space, no quoting.
 */
async function readCsr(client: F5Client, csrName: string): Promise<string> {
  const [file, bulk] = [`${CSR_DIR}${csrName}`, `${BULK_DIR}${csrName}`];
  try {
    await unix(client, 'mv', `${file} ${bulk}`);
  } catch (e) {
    throw new Error(`F5 CSR read: ${(e as Error).message}`);
  }
  let text: string;
  try {
    text = await client.download(csrName);
  } finally {
    await unix(client, 'mv', `${bulk} ${file}`).catch(() => unix(client, 'rm', bulk).catch(() => {}));
  }
  const pem = PEM_CSR.exec(text)?.[0];
  if (!pem)
    throw new Error(`F5 CSR read: ${client.fromDevice(text.slice(0, 200).trim() || 'an empty file')}`);
  return pem;
}

/** The leaf and its intermediates uploaded and installed as two certificate objects. */
async function install(
  client: F5Client,
  options: F5Options,
  chainPem: string,
  request: CsrRequest,
): Promise<InstallReceipt> {
  const n = rotationNames(options, request);
  const [leaf, ...intermediates] = chainPem.match(PEM_CERTIFICATE) ?? [];
  if (!leaf) throw new Error('the issued chain holds no certificate');
  // Once httpd serves it, the management interface presents this certificate: its key is the BIG-IP's own.
  client.trustInstalled(leaf);
  const installs: [string, string][] = [[n.cert, `${leaf}\n`]];
  if (intermediates.length > 0) installs.push([n.chain, `${intermediates.join('\n')}\n`]);
  for (const [name, content] of installs) {
    const file = await client.upload(name, content);
    await client.call(`install of ${name}`, 'POST', '/mgmt/tm/sys/crypto/cert', {
      command: 'install',
      name,
      partition: options.partition,
      'from-local-file': file,
    });
  }
  return {
    key: objectPath(options, n.key),
    csr: objectPath(options, n.csr),
    cert: objectPath(options, n.cert),
    chain: intermediates.length > 0 ? objectPath(options, n.chain) : 'none',
    leafSerial: new X509Certificate(leaf).serialNumber.toLowerCase(),
    keyType: request.key.type,
  };
}

/**
 * After verification: the CSR and the previous binding's objects, those this tool created and no longer uses;
 * then the configuration is saved (and synced) again, so the saved one references no deleted object.
 */
async function cleanup(
  client: F5Client,
  context: DriverContext<F5Options>,
  previousObjects: string[],
  receipt: InstallReceipt,
): Promise<void> {
  const { options } = context;
  const leftovers = [String(receipt.csr), ...previousObjects];
  const inUse = [receipt.cert, receipt.key, receipt.chain];
  const failures: string[] = [];
  for (const fullPath of leftovers) {
    if (!ours(options, fullPath) || inUse.includes(fullPath)) continue;
    await client
      .call(`removal of ${fullPath}`, 'DELETE', objectUrl(fullPath))
      .catch((e: Error) => failures.push(e.message));
  }
  await persist(client, context).catch((e: Error) => failures.push(e.message));
  if (failures.length > 0) throw new Error(failures.join('; '));
}

/**
 * F5 BIG-IP over iControl REST (14.x–17.x): token login (re-login once when the token has expired), a key and a CSR
 * with every SAN created on the BIG-IP, the CSR downloaded through file-transfer without util bash (the key never
 * leaves it), the leaf and its intermediates uploaded through file-transfer and installed as certificate objects,
 * then bound either to a client-ssl profile (only the entry of the new key's type replaced, effective for new
 * connections at once) or to the management httpd (activated by restarting httpd, awaited by polling the TLS
 * handshake). Every change that stays is saved (`save sys config`) and synced to the route's device group. The
 * previous binding is kept and restored on failure; previous objects are deleted only after verification, and
 * only those this tool created. Every token is masked the moment it arrives; messages name the credential, never
 * any part of it.
 */
export const f5Driver: PlatformDriver<F5Options> = guardedDriver<F5Options>(
  'f5',
  async (context, guard): Promise<DriverSession> => {
    const { options } = context;
    const client = new F5Client(context, guard);
    const target: Target =
      options.target === 'client-ssl'
        ? new ClientSslTarget(client, options.clientSslProfile, context.device)
        : new HttpdTarget(client, context);
    return {
      async precheck() {
        await client.login();
        await client.call('version query', 'GET', '/mgmt/tm/sys/version');
        if (options.deviceGroup)
          await client.call(
            `device group check of ${options.deviceGroup}`,
            'GET',
            `/mgmt/tm/cm/device-group/${urlName(`/Common/${options.deviceGroup}`)}`,
          );
        await target.remember();
      },
      generateCsr: (request) => generateCsr(client, options, request),
      async install(chainPem, request) {
        const receipt = await install(client, options, chainPem, request);
        await target.prepare(receipt);
        return receipt;
      },
      async activate(receipt) {
        await target.bind(receipt);
        await persist(client, context);
      },
      async rollback(receipt) {
        await target.restore(receipt);
        await removeQuietly(client, rotationObjects(receipt));
        await persist(client, context);
      },
      cleanup: (receipt) => cleanup(client, context, target.previousObjects(), receipt),
      discard: (request) => {
        const n = rotationNames(options, request);
        return removeQuietly(
          client,
          [n.cert, n.chain, n.csr, n.key].map((name) => objectPath(options, name)),
        );
      },
      tlsEndpoint: () => target.served,
      close: () => client.logout(),
    };
  },
);
