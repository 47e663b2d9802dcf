import { X509Certificate } from 'node:crypto';
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
import { F5Client, urlName } from './client.ts';
import type { F5Options } from './index.ts';

/** A client-ssl profile's certKeyChain entry, by full path ("/Common/x.crt"), or the httpd file settings. */
interface Binding {
  name?: string;
  cert: string;
  key: string;
  chain: string;
}
interface HttpdFiles {
  sslCertfile: string;
  sslCertkeyfile: string;
  sslCertchainfile: string;
}

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

const cryptoKind = (fullPath: string) =>
  fullPath.endsWith('.key') ? 'key' : fullPath.endsWith('.csr') ? 'csr' : 'cert';
const cryptoObject = (fullPath: string) => `/mgmt/tm/sys/crypto/${cryptoKind(fullPath)}/${urlName(fullPath)}`;

/** Removes objects this rotation created and no longer needs; what is absent or still in use stays. */
async function removeQuietly(client: F5Client, fullPaths: string[]): Promise<void> {
  for (const fullPath of fullPaths) await client.send('DELETE', cryptoObject(fullPath)).catch(() => {});
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
  bind(receipt: InstallReceipt): Promise<void>;
  /** Binds what was remembered again (the new objects stay: the caller removes them). */
  restore(receipt: InstallReceipt): Promise<void>;
  /** The objects the previous binding used: cleanup removes those this tool created. */
  previousObjects(): string[];
}

/** A client-ssl profile: the new certKeyChain is used by new connections at once. */
class ClientSslTarget implements Target {
  readonly served: TlsEndpoint;
  private previous: Binding | undefined;

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
    const chain = (current.certKeyChain as Binding[] | undefined)?.[0];
    if (!chain) throw new Error(`client-ssl profile ${this.profile} has no certKeyChain entry`);
    this.previous = chain;
  }

  async bind(receipt: InstallReceipt) {
    const { key, cert, chain } = receipt as unknown as Binding;
    await this.client.call('client-ssl profile update', 'PATCH', this.profileUrl, {
      certKeyChain: [{ name: this.previous?.name ?? 'default', cert, key, chain }],
    });
  }

  async restore() {
    if (!this.previous) throw new Error('the previous client-ssl binding is unknown');
    const { name, cert, key, chain } = this.previous;
    await this.client.call('client-ssl profile restore', 'PATCH', this.profileUrl, {
      certKeyChain: [{ name: name ?? 'default', cert, key, chain }],
    });
  }

  previousObjects() {
    return this.previous ? [this.previous.cert, this.previous.key, this.previous.chain] : [];
  }
}

/** The management httpd (what Ottr did): activated by restarting httpd, awaited by polling its handshake. */
class HttpdTarget implements Target {
  readonly served: TlsEndpoint;
  private previous: HttpdFiles | undefined;

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
      sslCertchainfile: String(httpd.sslCertchainfile ?? 'none'),
    };
  }

  async bind(receipt: InstallReceipt) {
    const { key, cert, chain } = receipt as unknown as Binding;
    await this.client.call('httpd update', 'PATCH', '/mgmt/tm/sys/httpd', {
      sslCertkeyfile: await this.cachePath('ssl-key', key),
      sslCertfile: await this.cachePath('ssl-cert', cert),
      sslCertchainfile: chain === 'none' ? 'none' : await this.cachePath('ssl-cert', chain),
    });
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

  private async cachePath(kind: 'ssl-cert' | 'ssl-key', fullPath: string): Promise<string> {
    const object = await this.client.call(
      `lookup of ${fullPath}`,
      'GET',
      `/mgmt/tm/sys/file/${kind}/${urlName(fullPath)}`,
    );
    if (typeof object.cachePath !== 'string') throw new Error(`F5 lookup of ${fullPath}: no cachePath`);
    return object.cachePath;
  }

  private async restart(): Promise<void> {
    // httpd may cut this very connection while restarting: a dropped answer is expected, the polling decides.
    await this.client
      .call('restart of httpd', 'POST', '/mgmt/tm/sys/service', { command: 'restart', name: 'httpd' })
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
  // n.csr is built from the rotation id ([a-z0-9-]) and the prefix (schema: [A-Za-z0-9_-]): safe in quotes.
  const listed = await client.call('CSR read', 'POST', '/mgmt/tm/util/bash', {
    command: 'run',
    utilCmdArgs: `-c 'tmsh list sys crypto csr ${n.csr}'`,
  });
  const output = String(listed.commandResult ?? '');
  const pem = PEM_CSR.exec(output)?.[0];
  if (!pem)
    throw new Error(
      `F5 CSR read: ${client.fromDevice(
        String(listed.commandResult ?? 'no output')
          .slice(0, 200)
          .trim(),
      )}`,
    );
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
  };
}

/** After verification: the CSR and the previous binding's objects, those this tool created and no longer uses. */
async function cleanup(
  client: F5Client,
  options: F5Options,
  previousObjects: string[],
  receipt: InstallReceipt,
): Promise<void> {
  const leftovers = [String(receipt.csr), ...previousObjects];
  const inUse = [receipt.cert, receipt.key, receipt.chain];
  const failures: string[] = [];
  for (const fullPath of leftovers) {
    if (!ours(options, fullPath) || inUse.includes(fullPath)) continue;
    await client
      .call(`removal of ${fullPath}`, 'DELETE', cryptoObject(fullPath))
      .catch((e: Error) => failures.push(e.message));
  }
  if (failures.length > 0) throw new Error(failures.join('; '));
}

/**
 * F5 BIG-IP over iControl REST (14.x–17.x): token login (re-login once when the token has expired), a key and a CSR
 * with every SAN created on the BIG-IP, the CSR read back with `tmsh list` (the key never leaves it), the leaf and
 * its intermediates uploaded through file-transfer and installed as certificate objects, then bound either to a
 * client-ssl profile (effective for new connections at once) or to the management httpd (activated by restarting
 * httpd, awaited by polling the TLS handshake). The previous binding is kept and restored on failure; previous
 * objects are deleted only after verification, and only those this tool created. Every token is masked the
 * moment it arrives; messages name the credential, never any part of it.
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
        await target.remember();
      },
      generateCsr: (request) => generateCsr(client, options, request),
      install: (chainPem, request) => install(client, options, chainPem, request),
      activate: (receipt) => target.bind(receipt),
      async rollback(receipt) {
        await target.restore(receipt);
        await removeQuietly(client, rotationObjects(receipt));
      },
      cleanup: (receipt) => cleanup(client, options, target.previousObjects(), receipt),
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
