import { XMLParser } from 'fast-xml-parser';
import { parseDuration } from '../../util/duration.ts';
import type {
  CsrRequest,
  DriverContext,
  DriverSession,
  InstallReceipt,
  PlatformDriver,
} from '../contract.ts';
import { type CredentialGuard, guardedDriver } from '../shared/credential-guard.ts';
import { httpsCall, managementApi, trustInstalled } from '../shared/https-client.ts';

/** A parsed PAN-OS response: XML of whatever shape the request produced. */
// biome-ignore lint/suspicious/noExplicitAny: the API's responses are read field by field, each checked
type Xml = Record<string, any>;

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });
const xml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/'/g, '&apos;')
    .replace(/"/g, '&quot;');
const SYSTEM = "/config/devices/entry[@name='localhost.localdomain']/deviceconfig/system";

export interface PanosOptions {
  ssl_tls_profile?: string;
  certificate_prefix?: string;
  commit_timeout?: string;
}

/** The text of every <msg>/<line> in an error response, flattened. */
function messages(node: unknown): string {
  if (node === undefined || node === null) return '';
  if (typeof node !== 'object') return String(node);
  return Object.values(node as Record<string, unknown>)
    .map(messages)
    .filter(Boolean)
    .join(' ');
}

/**
 * PAN-OS over its XML API: key and CSR generated on the firewall with every SAN, the chain imported under a
 * name unique to the rotation, bound to an SSL/TLS service profile used by the management interface, committed
 * with the job polled and its result checked; old certificates deleted only after verification. The API key
 * travels in the X-PAN-KEY header, never in a URL, and a key from keygen is masked the moment it arrives;
 * `status="error"` is checked on every response. Messages name the credential, never any part of it.
 */
export const panosDriver: PlatformDriver = guardedDriver(
  'panos',
  async (context: DriverContext, guard: CredentialGuard): Promise<DriverSession> => {
    const { device, route, signal } = context;
    const connection = device.connection ?? {};
    const options = (route.options ?? {}) as PanosOptions;
    const profile = options.ssl_tls_profile ?? 'ottr-mgmt';
    const prefix = options.certificate_prefix ?? 'ottr';
    const commitTimeout = (options.commit_timeout && parseDuration(options.commit_timeout)) || 600_000;
    const { host, port, trust } = managementApi(context);
    const credentialName = connection.credentials;
    if (!credentialName)
      throw new Error('connection.credentials must name the secret with the API key or user:password');
    const credential = context.secret(credentialName);
    /** What the firewall said, without any part of the credential it may echo. */
    const said = (node: unknown) => guard.fromDevice(messages(node));

    async function post(
      form: Record<string, string>,
      extraHeaders: Record<string, string> = {},
      body?: Buffer,
      contentType?: string,
    ) {
      if (signal.aborted) throw signal.reason;
      const payload = body ?? Buffer.from(new URLSearchParams(form).toString());
      const path = body ? `/api/?${new URLSearchParams(form).toString()}` : '/api/';
      const response = await httpsCall(
        {
          host,
          port,
          servername: device.common_name,
          method: 'POST',
          path,
          headers: {
            'content-type': contentType ?? 'application/x-www-form-urlencoded',
            'content-length': String(payload.length),
            ...extraHeaders,
          },
          body: payload,
        },
        trust,
      );
      const text = response.body.toString('utf8');
      context.audit?.(text);
      if (response.status !== 200) throw new Error(`PAN-OS answered HTTP ${response.status}`);
      return text;
    }

    async function api(form: Record<string, string>, body?: Buffer, contentType?: string): Promise<Xml> {
      const text = await post(form, { 'X-PAN-KEY': apiKey }, body, contentType);
      const doc = parser.parse(text) as { response?: Xml };
      const response = doc.response;
      if (!response)
        throw new Error(
          `PAN-OS answered something that is not an API response: ${guard.fromDevice(text.slice(0, 200))}`,
        );
      if (response['@status'] !== 'success') {
        const code = String(response['@code'] ?? '?');
        // 403 is the XML API's "Forbidden" (PAN-OS XML API error codes: invalid key or insufficient rights).
        const refused = code === '403' ? ` with the credential ${credentialName}` : '';
        throw new Error(
          `PAN-OS ${form.type}${refused}: ${said(response.msg ?? response.result) || 'error'} (code ${code})`,
        );
      }
      return response;
    }

    let apiKey = credential;
    if (credential.includes(':') && !/^LUFRPT/.test(credential)) {
      const at = credential.indexOf(':');
      const text = await post({
        type: 'keygen',
        user: credential.slice(0, at),
        password: credential.slice(at + 1),
      });
      const response = (parser.parse(text) as { response?: Xml }).response;
      const key = response?.result?.key;
      // Masked the moment it exists, whatever else the answer says.
      if (key !== undefined && key !== null && key !== '') guard.derived(String(key));
      if (response?.['@status'] !== 'success' || !key)
        throw new Error(
          `PAN-OS keygen refused the credential ${credentialName}: ${said(response?.result ?? response?.msg) || 'error'}`,
        );
      apiKey = String(key);
    }

    async function commit(what: string): Promise<void> {
      const queued = await api({ type: 'commit', cmd: '<commit></commit>' });
      const job = String(queued.result?.job ?? '');
      if (!job) return; // nothing to commit
      const deadline = Date.now() + commitTimeout;
      for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
        await new Promise((r) => setTimeout(r, delay));
        const status = await api({ type: 'op', cmd: `<show><jobs><id>${xml(job)}</id></jobs></show>` });
        const j = status.result?.job ?? {};
        if (j.status === 'FIN') {
          if (j.result !== 'OK')
            throw new Error(
              `commit ${job} (${what}) failed: ${said(j.details) || guard.fromDevice(String(j.result ?? 'no result'))}`,
            );
          return;
        }
        if (Date.now() > deadline)
          throw new Error(`commit ${job} (${what}) still ${j.status} after ${commitTimeout} ms`);
      }
    }

    const profileXpath = `/config/shared/ssl-tls-service-profile/entry[@name='${xml(profile)}']`;
    let previous: { certificate?: string; mgmtProfile?: string } = {};
    const nameFor = (request: CsrRequest) =>
      (request.rotationId.startsWith(`${prefix}-`)
        ? request.rotationId
        : `${prefix}-${request.rotationId}`
      ).slice(0, 63);

    return {
      async precheck() {
        await api({ type: 'op', cmd: '<show><system><info></info></system></show>' });
        const current = await api({ type: 'config', action: 'get', xpath: `${profileXpath}/certificate` });
        const mgmt = await api({ type: 'config', action: 'get', xpath: `${SYSTEM}/ssl-tls-service-profile` });
        previous = {
          ...(current.result?.certificate ? { certificate: String(current.result.certificate) } : {}),
          ...(mgmt.result?.['ssl-tls-service-profile']
            ? { mgmtProfile: String(mgmt.result['ssl-tls-service-profile']) }
            : {}),
        };
      },
      async generateCsr(request) {
        const name = nameFor(request);
        const algorithm =
          request.key.type === 'rsa'
            ? `<RSA><rsa-nbits>${request.key.size ?? 2048}</rsa-nbits></RSA>`
            : `<ECDSA><ecdsa-nbits>${request.key.curve === 'P-384' ? 384 : 256}</ecdsa-nbits></ECDSA>`;
        const hostnames = request.names.map((n) => `<member>${xml(n)}</member>`).join('');
        await api({
          type: 'op',
          cmd: `<request><certificate><generate><algorithm>${algorithm}</algorithm><digest>sha256</digest><certificate-name>${xml(name)}</certificate-name><name>${xml(request.names[0]!)}</name><hostname>${hostnames}</hostname><signed-by>external</signed-by><ca>no</ca></generate></certificate></request>`,
        });
        const csr = await post(
          {
            type: 'export',
            category: 'certificate',
            'certificate-name': name,
            format: 'pkcs10',
            'include-key': 'no',
          },
          { 'X-PAN-KEY': apiKey },
        );
        const pem = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]+?-----END CERTIFICATE REQUEST-----/.exec(
          csr,
        )?.[0];
        if (!pem)
          throw new Error(`PAN-OS exported no CSR for ${name}: ${guard.fromDevice(csr.slice(0, 200))}`);
        return pem;
      },
      async install(chainPem, request): Promise<InstallReceipt> {
        const name = nameFor(request);
        const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem)?.[0];
        if (!leaf) throw new Error('the issued chain holds no certificate');
        // After the commit the management interface may present this certificate: its key is the firewall's own.
        trustInstalled(trust, leaf);
        const boundary = `ottr${Date.now().toString(16)}`;
        const body = Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}.pem"\r\nContent-Type: application/x-pem-file\r\n\r\n${chainPem}\r\n--${boundary}--\r\n`,
        );
        await api(
          { type: 'import', category: 'certificate', 'certificate-name': name, format: 'pem' },
          body,
          `multipart/form-data; boundary=${boundary}`,
        );
        return { name, previous };
      },
      async activate(receipt) {
        await api({
          type: 'config',
          action: 'set',
          xpath: profileXpath,
          element: `<certificate>${xml(String(receipt.name))}</certificate><protocol-settings><min-version>tls1-2</min-version></protocol-settings>`,
        });
        await api({
          type: 'config',
          action: 'set',
          xpath: SYSTEM,
          element: `<ssl-tls-service-profile>${xml(profile)}</ssl-tls-service-profile>`,
        });
        await commit('activate');
      },
      async rollback(receipt) {
        const before = receipt.previous as typeof previous;
        if (before.certificate) {
          await api({
            type: 'config',
            action: 'set',
            xpath: profileXpath,
            element: `<certificate>${xml(before.certificate)}</certificate>`,
          });
        }
        if (before.mgmtProfile && before.mgmtProfile !== profile) {
          await api({
            type: 'config',
            action: 'set',
            xpath: SYSTEM,
            element: `<ssl-tls-service-profile>${xml(before.mgmtProfile)}</ssl-tls-service-profile>`,
          });
        }
        await commit('rollback');
      },
      async cleanup(receipt) {
        // Only certificates this tool created are ever deleted.
        const old = (receipt.previous as typeof previous).certificate;
        if (old && old !== receipt.name && old.startsWith(`${prefix}-`)) {
          await api({
            type: 'config',
            action: 'delete',
            xpath: `/config/shared/certificate/entry[@name='${xml(old)}']`,
          });
          await commit('cleanup');
        }
      },
      async discard(request) {
        await api({
          type: 'config',
          action: 'delete',
          xpath: `/config/shared/certificate/entry[@name='${xml(nameFor(request))}']`,
        }).catch(() => {});
      },
      tlsEndpoint: () => ({ host, port, servername: device.common_name }),
      async close() {},
    };
  },
);
