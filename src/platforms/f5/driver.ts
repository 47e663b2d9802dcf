import { X509Certificate } from 'node:crypto';
import { parseDuration } from '../../util/duration.ts';
import { awaitServed } from '../../verify/await-served.ts';
import type { TlsEndpoint } from '../../verify/tls.ts';
import type {
  CsrRequest,
  DriverContext,
  DriverSession,
  InstallReceipt,
  PlatformDriver,
} from '../contract.ts';
import { type CredentialGuard, guardedDriver } from '../shared/credential-guard.ts';
import { httpsCall, managementApi, managementLogin, trustInstalled } from '../shared/https-client.ts';

export interface F5Options {
  target?: 'httpd' | 'client-ssl';
  client_ssl_profile?: string;
  partition?: string;
  certificate_prefix?: string;
  restart_timeout?: string;
}

type Json = Record<string, unknown>;

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

const DOWNLOADS = '/var/config/rest/downloads/';
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** "/Common/a.crt" → "~Common~a.crt", the form iControl REST uses for an object in a URL. */
const urlName = (fullPath: string) => encodeURIComponent(fullPath.replace(/\//g, '~'));

/** The device's error, if any; `fromDevice` keeps any part of the credential it may echo out of the text. */
function errorText(
  json: Json | undefined,
  status: number,
  fromDevice: (text: string) => string,
): string | undefined {
  const code = typeof json?.code === 'number' ? json.code : undefined;
  if (status < 400 && (code === undefined || code < 400)) return undefined;
  const message = typeof json?.message === 'string' ? fromDevice(json.message) : `HTTP ${status}`;
  return `${message} (HTTP ${status}${code && code !== status ? `, code ${code}` : ''})`;
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
export const f5Driver: PlatformDriver = guardedDriver(
  'f5',
  async (context: DriverContext, guard: CredentialGuard): Promise<DriverSession> => {
    const { device, route, signal } = context;
    const options = (route.options ?? {}) as F5Options;
    const target = options.target ?? (options.client_ssl_profile ? 'client-ssl' : 'httpd');
    if (target === 'client-ssl' && !options.client_ssl_profile)
      throw new Error('route option client_ssl_profile is required with target client-ssl');
    const profile = options.client_ssl_profile ?? '';
    const partition = options.partition ?? 'Common';
    const prefix = options.certificate_prefix ?? 'ottr';
    const restartTimeout = parseDuration(options.restart_timeout ?? '3m') ?? 180_000;
    const api = managementApi(context);
    const connection = device.connection ?? {};
    const { name: credentialName, user, password } = managementLogin(context, 'the F5 login');
    const problemOf = (json: Json | undefined, status: number) => errorText(json, status, guard.fromDevice);

    let token = '';
    async function send(method: string, path: string, body?: Buffer, headers: Record<string, string> = {}) {
      if (signal.aborted) throw signal.reason;
      const response = await httpsCall(
        {
          host: api.host,
          port: api.port,
          servername: api.servername,
          method,
          path,
          headers: {
            ...(body ? { 'content-length': String(body.length) } : {}),
            ...(token ? { 'X-F5-Auth-Token': token } : {}),
            ...headers,
          },
          ...(body ? { body } : {}),
        },
        api.trust,
      );
      const text = response.body.toString('utf8');
      context.audit?.(text);
      let json: Json | undefined;
      try {
        json = JSON.parse(text) as Json;
      } catch {
        json = undefined;
      }
      return { status: response.status, json };
    }

    async function login(): Promise<void> {
      token = '';
      const body = Buffer.from(JSON.stringify({ username: user, password, loginProviderName: 'tmos' }));
      const { status, json } = await send('POST', '/mgmt/shared/authn/login', body, {
        'content-type': 'application/json',
      });
      const issued = (json?.token as Json | undefined)?.token;
      if (typeof issued === 'string' && issued) guard.derived(issued);
      if (status !== 200 || typeof issued !== 'string' || !issued)
        throw new Error(
          `F5 login refused for the credential ${credentialName}: ${problemOf(json, status) ?? 'no token in the answer'}`,
        );
      token = issued;
    }

    /** One REST call; an expired token (401) is replaced by a new login once, then the call is repeated. */
    async function call(what: string, method: string, path: string, payload?: unknown): Promise<Json> {
      const body = payload === undefined ? undefined : Buffer.from(JSON.stringify(payload));
      const headers: Record<string, string> =
        payload === undefined ? {} : { 'content-type': 'application/json' };
      let answer = await send(method, path, body, headers);
      if (answer.status === 401) {
        context.log('the F5 token was refused (expired?); logging in again');
        await login();
        answer = await send(method, path, body, headers);
      }
      const problem = problemOf(answer.json, answer.status);
      if (problem) throw new Error(`F5 ${what}: ${problem}`);
      return answer.json ?? {};
    }

    async function upload(file: string, content: string): Promise<string> {
      const data = Buffer.from(content);
      let answer = await send(
        'POST',
        `/mgmt/shared/file-transfer/uploads/${encodeURIComponent(file)}`,
        data,
        {
          'content-type': 'application/octet-stream',
          'content-range': `0-${data.length - 1}/${data.length}`,
        },
      );
      if (answer.status === 401) {
        await login();
        answer = await send('POST', `/mgmt/shared/file-transfer/uploads/${encodeURIComponent(file)}`, data, {
          'content-type': 'application/octet-stream',
          'content-range': `0-${data.length - 1}/${data.length}`,
        });
      }
      const problem = problemOf(answer.json, answer.status);
      if (problem) throw new Error(`F5 upload of ${file}: ${problem}`);
      return String(answer.json?.localFilePath ?? `${DOWNLOADS}${file}`);
    }

    const objectPath = (name: string) => `/${partition}/${name}`;
    const names = (request: CsrRequest) => {
      const base = request.rotationId.startsWith(`${prefix}-`)
        ? request.rotationId
        : `${prefix}-${request.rotationId}`;
      return { key: `${base}.key`, csr: `${base}.csr`, cert: `${base}.crt`, chain: `${base}-chain.crt` };
    };
    const ours = (fullPath: string) => fullPath.startsWith(`/${partition}/${prefix}-`);

    const managementEndpoint: TlsEndpoint = { host: api.host, port: api.port, servername: api.servername };
    const servedEndpoint: TlsEndpoint =
      target === 'httpd'
        ? managementEndpoint
        : { host: api.host, port: connection.tls_port ?? 443, servername: device.common_name };

    /** Polls the management interface's handshake until httpd is back and `served` accepts its leaf. */
    async function awaitHttpd(served: (leaf: X509Certificate) => boolean, what: string): Promise<void> {
      await awaitServed(
        managementEndpoint,
        (leaf) => (served(leaf) ? undefined : `serving serial ${leaf.serialNumber.toLowerCase()}`),
        { timeoutMs: restartTimeout, signal, what: `httpd did not come back ${what}` },
      );
    }

    async function restartHttpd(): Promise<void> {
      // httpd may cut this very connection while restarting: a dropped answer is expected, the polling decides.
      await call('restart of httpd', 'POST', '/mgmt/tm/sys/service', {
        command: 'restart',
        name: 'httpd',
      }).catch((e: Error) => {
        if (/^F5 /.test(e.message)) throw e;
        context.log(`the restart request's connection closed (${e.message}); waiting for httpd`);
      });
    }

    async function cachePath(kind: 'ssl-cert' | 'ssl-key', fullPath: string): Promise<string> {
      const object = await call(
        `lookup of ${fullPath}`,
        'GET',
        `/mgmt/tm/sys/file/${kind}/${urlName(fullPath)}`,
      );
      if (typeof object.cachePath !== 'string') throw new Error(`F5 lookup of ${fullPath}: no cachePath`);
      return object.cachePath;
    }

    const cryptoKind = (fullPath: string) =>
      fullPath.endsWith('.key') ? 'key' : fullPath.endsWith('.csr') ? 'csr' : 'cert';
    /** Removes objects this rotation created and no longer needs; what is absent or still in use stays. */
    async function removeQuietly(fullPaths: string[]): Promise<void> {
      for (const fullPath of fullPaths)
        await send('DELETE', `/mgmt/tm/sys/crypto/${cryptoKind(fullPath)}/${urlName(fullPath)}`).catch(
          () => {},
        );
    }

    let previousBinding: Binding | undefined;
    let previousHttpd: HttpdFiles | undefined;

    return {
      async precheck() {
        await login();
        await call('version query', 'GET', '/mgmt/tm/sys/version');
        if (target === 'client-ssl') {
          const current = await call(
            'client-ssl profile read',
            'GET',
            `/mgmt/tm/ltm/profile/client-ssl/${urlName(profile)}`,
          );
          const chain = (current.certKeyChain as Binding[] | undefined)?.[0];
          if (!chain) throw new Error(`client-ssl profile ${profile} has no certKeyChain entry`);
          previousBinding = chain;
        } else {
          const httpd = await call('httpd settings read', 'GET', '/mgmt/tm/sys/httpd');
          previousHttpd = {
            sslCertfile: String(httpd.sslCertfile),
            sslCertkeyfile: String(httpd.sslCertkeyfile),
            sslCertchainfile: String(httpd.sslCertchainfile ?? 'none'),
          };
        }
      },

      async generateCsr(request) {
        const n = names(request);
        const key =
          request.key.type === 'rsa'
            ? { keyType: 'rsa-private', keySize: request.key.size ?? 2048 }
            : {
                keyType: 'ec-private',
                curveName: request.key.curve === 'P-384' ? 'secp384r1' : 'prime256v1',
              };
        await call('key creation', 'POST', '/mgmt/tm/sys/crypto/key', {
          name: n.key,
          partition,
          securityType: 'normal',
          ...key,
        });
        await call('CSR creation', 'POST', '/mgmt/tm/sys/crypto/csr', {
          name: n.csr,
          partition,
          key: objectPath(n.key),
          commonName: request.names[0],
          subjectAlternativeName: request.names.map((name) => `DNS:${name}`).join(', '),
        });
        // n.csr is built from the rotation id ([a-z0-9-]) and the prefix (schema: [A-Za-z0-9_-]): safe in quotes.
        const listed = await call('CSR read', 'POST', '/mgmt/tm/util/bash', {
          command: 'run',
          utilCmdArgs: `-c 'tmsh list sys crypto csr ${n.csr}'`,
        });
        const pem = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]+?-----END CERTIFICATE REQUEST-----/.exec(
          String(listed.commandResult ?? ''),
        )?.[0];
        if (!pem)
          throw new Error(
            `F5 CSR read: ${guard.fromDevice(
              String(listed.commandResult ?? 'no output')
                .slice(0, 200)
                .trim(),
            )}`,
          );
        return pem;
      },

      async install(chainPem, request): Promise<InstallReceipt> {
        const n = names(request);
        const [leaf, ...intermediates] = chainPem.match(PEM_CERTIFICATE) ?? [];
        if (!leaf) throw new Error('the issued chain holds no certificate');
        // Once httpd serves it, the management interface presents this certificate: its key is the BIG-IP's own.
        trustInstalled(api.trust, leaf);
        const installs: [string, string][] = [[n.cert, `${leaf}\n`]];
        if (intermediates.length > 0) installs.push([n.chain, `${intermediates.join('\n')}\n`]);
        for (const [name, content] of installs) {
          const file = await upload(name, content);
          await call(`install of ${name}`, 'POST', '/mgmt/tm/sys/crypto/cert', {
            command: 'install',
            name,
            partition,
            'from-local-file': file,
          });
        }
        return {
          key: objectPath(n.key),
          csr: objectPath(n.csr),
          cert: objectPath(n.cert),
          chain: intermediates.length > 0 ? objectPath(n.chain) : 'none',
          leafSerial: new X509Certificate(leaf).serialNumber.toLowerCase(),
        };
      },

      async activate(receipt) {
        const { key, cert, chain } = receipt as unknown as Binding;
        if (target === 'client-ssl') {
          await call(
            'client-ssl profile update',
            'PATCH',
            `/mgmt/tm/ltm/profile/client-ssl/${urlName(profile)}`,
            {
              certKeyChain: [{ name: previousBinding?.name ?? 'default', cert, key, chain }],
            },
          );
          return;
        }
        await call('httpd update', 'PATCH', '/mgmt/tm/sys/httpd', {
          sslCertkeyfile: await cachePath('ssl-key', key),
          sslCertfile: await cachePath('ssl-cert', cert),
          sslCertchainfile: chain === 'none' ? 'none' : await cachePath('ssl-cert', chain),
        });
        await restartHttpd();
        const serial = String(receipt.leafSerial);
        await awaitHttpd((leaf) => leaf.serialNumber.toLowerCase() === serial, 'with the new certificate');
      },

      async rollback(receipt) {
        if (target === 'client-ssl') {
          if (!previousBinding) throw new Error('the previous client-ssl binding is unknown');
          const { name, cert, key, chain } = previousBinding;
          await call(
            'client-ssl profile restore',
            'PATCH',
            `/mgmt/tm/ltm/profile/client-ssl/${urlName(profile)}`,
            {
              certKeyChain: [{ name: name ?? 'default', cert, key, chain }],
            },
          );
          await removeQuietly(rotationObjects(receipt));
          return;
        }
        if (!previousHttpd) throw new Error('the previous httpd certificate settings are unknown');
        await call('httpd restore', 'PATCH', '/mgmt/tm/sys/httpd', previousHttpd);
        await restartHttpd();
        const serial = String(receipt.leafSerial);
        await awaitHttpd(
          (leaf) => leaf.serialNumber.toLowerCase() !== serial,
          'with the previous certificate',
        );
        await removeQuietly(rotationObjects(receipt));
      },

      async cleanup(receipt) {
        const leftovers: string[] = [String(receipt.csr)];
        if (previousBinding) leftovers.push(previousBinding.cert, previousBinding.key, previousBinding.chain);
        if (previousHttpd) {
          // httpd names filestore copies, e.g. …/certificate_d/:Common:ottr-x.crt_123_1 → /Common/ottr-x.crt
          for (const file of Object.values(previousHttpd)) {
            const object = /:([A-Za-z0-9_.-]+):([A-Za-z0-9_.-]+?\.(?:crt|key))_\d+(?:_\d+)?$/.exec(file);
            if (object) leftovers.push(`/${object[1]}/${object[2]}`);
          }
        }
        const failures: string[] = [];
        for (const fullPath of leftovers) {
          if (
            !ours(fullPath) ||
            fullPath === receipt.cert ||
            fullPath === receipt.key ||
            fullPath === receipt.chain
          )
            continue;
          await call(
            `removal of ${fullPath}`,
            'DELETE',
            `/mgmt/tm/sys/crypto/${cryptoKind(fullPath)}/${urlName(fullPath)}`,
          ).catch((e: Error) => failures.push(e.message));
        }
        if (failures.length > 0) throw new Error(failures.join('; '));
      },

      async discard(request) {
        const n = names(request);
        await removeQuietly([n.cert, n.chain, n.csr, n.key].map(objectPath));
      },

      tlsEndpoint: () => servedEndpoint,

      async close() {
        // The vendor's logout names the token in the path; it is useless from this moment on.
        if (token)
          await send('DELETE', `/mgmt/shared/authz/tokens/${encodeURIComponent(token)}`).catch(() => {});
        token = '';
      },
    };
  },
);
