import { done, notYet, poll } from '../../util/poll.ts';
import type {
  CsrRequest,
  DriverContext,
  DriverSession,
  InstallReceipt,
  PlatformDriver,
} from '../contract.ts';
import { type CredentialGuard, guardedDriver } from '../shared/credential-guard.ts';
import { escapeXml, PanosClient, type Xml } from './client.ts';
import type { PanosOptions } from './index.ts';

const SYSTEM = "/config/devices/entry[@name='localhost.localdomain']/deviceconfig/system";

/** What the firewall used before this rotation, as precheck found it: rollback and cleanup act on it. */
interface Previous {
  certificate?: string;
  mgmtProfile?: string;
}

/** One session with a firewall: its client, the route's options, and what precheck found. */
interface Firewall {
  client: PanosClient;
  options: PanosOptions;
  signal: AbortSignal;
  /** The SSL/TLS service profile the certificate is bound to. */
  profileXpath: string;
  previous: Previous;
}

/** The certificate's name on the firewall: unique to the rotation, at most 63 characters (PAN-OS's limit). */
function certificateName(firewall: Firewall, request: CsrRequest): string {
  const prefix = firewall.options.certificatePrefix;
  return (
    request.rotationId.startsWith(`${prefix}-`) ? request.rotationId : `${prefix}-${request.rotationId}`
  ).slice(0, 63);
}

const setConfig = (firewall: Firewall, xpath: string, element: string) =>
  firewall.client.request({ type: 'config', action: 'set', xpath, element });

const deleteCertificate = (firewall: Firewall, name: string) =>
  firewall.client.request({
    type: 'config',
    action: 'delete',
    xpath: `/config/shared/certificate/entry[@name='${escapeXml(name)}']`,
  });

/** Commits the candidate configuration and polls the commit job until it finishes; `what` names the step. */
async function commit(firewall: Firewall, what: string): Promise<void> {
  const { client } = firewall;
  const queued = await client.request({ type: 'commit', cmd: '<commit></commit>' });
  const job = String(queued.result?.job ?? '');
  if (!job) return; // nothing to commit
  const timeoutMs = firewall.options.commitTimeoutMs;
  // A request that fails (connection lost, status="error") ends the wait at once: poll rethrows it.
  const outcome = await poll<Xml>(
    async () => {
      const status = await client.request({
        type: 'op',
        cmd: `<show><jobs><id>${escapeXml(job)}</id></jobs></show>`,
      });
      const state: Xml = status.result?.job ?? {};
      return state.status === 'FIN'
        ? done(state)
        : notYet(`commit ${job} (${what}) still ${state.status} after ${timeoutMs} ms`);
    },
    { timeoutMs, initialDelayMs: 100, maxDelayMs: 5000, signal: firewall.signal },
  );
  if (!outcome.ok) throw new Error(outcome.reason);
  const finished = outcome.value;
  if (finished.result !== 'OK')
    throw new Error(
      `commit ${job} (${what}) failed: ${client.said(finished.details) || client.said(String(finished.result ?? 'no result'))}`,
    );
}

/** Reachability and the key's rights; records the certificate and profile in use for rollback and cleanup. */
async function precheck(firewall: Firewall): Promise<void> {
  const { client, profileXpath } = firewall;
  await client.request({ type: 'op', cmd: '<show><system><info></info></system></show>' });
  const current = await client.request({
    type: 'config',
    action: 'get',
    xpath: `${profileXpath}/certificate`,
  });
  const mgmt = await client.request({
    type: 'config',
    action: 'get',
    xpath: `${SYSTEM}/ssl-tls-service-profile`,
  });
  firewall.previous = {
    ...(current.result?.certificate ? { certificate: String(current.result.certificate) } : {}),
    ...(mgmt.result?.['ssl-tls-service-profile']
      ? { mgmtProfile: String(mgmt.result['ssl-tls-service-profile']) }
      : {}),
  };
}

/** The firewall generates the key (signed-by external, every SAN a hostname member); its CSR is exported. */
async function generateCsr(firewall: Firewall, request: CsrRequest): Promise<string> {
  const { client } = firewall;
  const name = certificateName(firewall, request);
  const algorithm =
    request.key.type === 'rsa'
      ? `<RSA><rsa-nbits>${request.key.size ?? 2048}</rsa-nbits></RSA>`
      : `<ECDSA><ecdsa-nbits>${request.key.curve === 'P-384' ? 384 : 256}</ecdsa-nbits></ECDSA>`;
  const hostnames = request.names.map((n) => `<member>${escapeXml(n)}</member>`).join('');
  await client.request({
    type: 'op',
    cmd: `<request><certificate><generate><algorithm>${algorithm}</algorithm><digest>sha256</digest><certificate-name>${escapeXml(name)}</certificate-name><name>${escapeXml(request.names[0]!)}</name><hostname>${hostnames}</hostname><signed-by>external</signed-by><ca>no</ca></generate></certificate></request>`,
  });
  const csr = await client.download({
    type: 'export',
    category: 'certificate',
    'certificate-name': name,
    format: 'pkcs10',
    'include-key': 'no',
  });
  const pem = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]+?-----END CERTIFICATE REQUEST-----/.exec(csr)?.[0];
  if (!pem) throw new Error(`PAN-OS exported no CSR for ${name}: ${client.said(csr.slice(0, 200))}`);
  return pem;
}

/** Imports the chain as a multipart PEM file under the rotation's name, next to the key the firewall made. */
async function install(firewall: Firewall, chainPem: string, request: CsrRequest): Promise<InstallReceipt> {
  const { client } = firewall;
  const name = certificateName(firewall, request);
  const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem)?.[0];
  if (!leaf) throw new Error('the issued chain holds no certificate');
  // After the commit the management interface may present this certificate: its key is the firewall's own.
  client.trustInstalled(leaf);
  const boundary = `ottr${Date.now().toString(16)}`;
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}.pem"\r\nContent-Type: application/x-pem-file\r\n\r\n${chainPem}\r\n--${boundary}--\r\n`,
  );
  await client.request(
    { type: 'import', category: 'certificate', 'certificate-name': name, format: 'pem' },
    { body, contentType: `multipart/form-data; boundary=${boundary}` },
  );
  return { name, previous: firewall.previous };
}

/** Binds the certificate to the profile (min TLS 1.2), the management interface to the profile, and commits. */
async function activate(firewall: Firewall, receipt: InstallReceipt): Promise<void> {
  await setConfig(
    firewall,
    firewall.profileXpath,
    `<certificate>${escapeXml(String(receipt.name))}</certificate><protocol-settings><min-version>tls1-2</min-version></protocol-settings>`,
  );
  await setConfig(
    firewall,
    SYSTEM,
    `<ssl-tls-service-profile>${escapeXml(firewall.options.sslTlsProfile)}</ssl-tls-service-profile>`,
  );
  await commit(firewall, 'activate');
}

/** Sets the previous certificate and management profile back, and commits. */
async function rollback(firewall: Firewall, receipt: InstallReceipt): Promise<void> {
  const before = receipt.previous as Previous;
  if (before.certificate)
    await setConfig(
      firewall,
      firewall.profileXpath,
      `<certificate>${escapeXml(before.certificate)}</certificate>`,
    );
  if (before.mgmtProfile && before.mgmtProfile !== firewall.options.sslTlsProfile)
    await setConfig(
      firewall,
      SYSTEM,
      `<ssl-tls-service-profile>${escapeXml(before.mgmtProfile)}</ssl-tls-service-profile>`,
    );
  await commit(firewall, 'rollback');
}

/** Deletes the previous certificate and commits. Only certificates this tool created are ever deleted. */
async function cleanup(firewall: Firewall, receipt: InstallReceipt): Promise<void> {
  const old = (receipt.previous as Previous).certificate;
  if (old && old !== receipt.name && old.startsWith(`${firewall.options.certificatePrefix}-`)) {
    await deleteCertificate(firewall, old);
    await commit(firewall, 'cleanup');
  }
}

/**
 * PAN-OS over its XML API: key and CSR generated on the firewall with every SAN, the chain imported under a
 * name unique to the rotation, bound to an SSL/TLS service profile used by the management interface, committed
 * with the job polled and its result checked; old certificates deleted only after verification. The API key
 * travels in the X-PAN-KEY header, never in a URL, and a key from keygen is masked the moment it arrives;
 * `status="error"` is checked on every response. Messages name the credential, never any part of it.
 */
export const panosDriver: PlatformDriver<PanosOptions> = guardedDriver(
  'panos',
  async (context: DriverContext<PanosOptions>, guard: CredentialGuard): Promise<DriverSession> => {
    const { options, signal } = context;
    const client = await PanosClient.login(context, guard);
    const firewall: Firewall = {
      client,
      options,
      signal,
      profileXpath: `/config/shared/ssl-tls-service-profile/entry[@name='${escapeXml(options.sslTlsProfile)}']`,
      previous: {},
    };
    return {
      precheck: () => precheck(firewall),
      generateCsr: (request) => generateCsr(firewall, request),
      install: (chainPem, request) => install(firewall, chainPem, request),
      activate: (receipt) => activate(firewall, receipt),
      rollback: (receipt) => rollback(firewall, receipt),
      cleanup: (receipt) => cleanup(firewall, receipt),
      async discard(request) {
        await deleteCertificate(firewall, certificateName(firewall, request)).catch(() => {});
      },
      tlsEndpoint: () => client.tlsEndpoint(),
      async close() {},
    };
  },
);
