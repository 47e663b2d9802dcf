import { X509Certificate } from 'node:crypto';
import { done, notYet, poll } from '../../util/poll.ts';
import { awaitServed } from '../../verify/await-served.ts';
import { fetchServedChain } from '../../verify/tls.ts';
import type {
  CsrRequest,
  DriverContext,
  DriverSession,
  InstallReceipt,
  PlatformDriver,
} from '../contract.ts';
import { guardedDriver } from '../shared/credential-guard.ts';
import { DeviceError, type Json, LighthouseClient, parseOpenSslTime } from './client.ts';
import type { LighthouseOptions } from './index.ts';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_CSR =
  /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (?:NEW )?CERTIFICATE REQUEST-----/;

const leafOf = (pem: string) => {
  const first = pem.match(PEM_CERTIFICATE)?.[0];
  return first ? new X509Certificate(first) : undefined;
};

const sameLeaf = (a: X509Certificate, b: X509Certificate) => a.fingerprint256 === b.fingerprint256;

/** What the session steps share: the API client, the context, and the certificate found at precheck. */
interface Lighthouse {
  client: LighthouseClient;
  context: DriverContext<LighthouseOptions>;
  options: LighthouseOptions;
  previousCert?: string | undefined;
}

/** An ISO time for a message, from `valid_from`/`valid_to` in OpenSSL's text form; the text itself otherwise. */
function timeOf(lh: Lighthouse, value: unknown): string {
  const time = parseOpenSslTime(value);
  if (time) return time.toISOString();
  return value === undefined ? 'an unstated time' : `"${lh.client.excerptOf(String(value)).slice(0, 40)}"`;
}

const validity = (lh: Lighthouse, https: Json) =>
  `valid from ${timeOf(lh, https.valid_from)} until ${timeOf(lh, https.valid_to)}`;

/**
 * Without `san_field` the CSR can name the common name only (REST v3.7 documents no SAN field): a device with
 * more names is refused before anything is changed, instead of a CSR the policy would reject after the device
 * made a key for it.
 */
function refuseUnsupportedNames(lh: Lighthouse, names: readonly string[]): void {
  if (lh.options.sanField || names.length <= 1) return;
  throw new Error(
    `Lighthouse REST API v3.7 documents no field for subject alternative names, so the Lighthouse's CSR names ${names[0]} only, and this device also lists ${names.slice(1).join(', ')}: nothing was changed. Remove them from the device's subject_alternative_names, or, if your Lighthouse release takes SANs in an https.csr field, name that field in the route option san_field (see the lighthouse README)`,
  );
}

const deviceNames = (lh: Lighthouse) => {
  const { common_name, subject_alternative_names } = lh.context.device;
  return [...new Set([common_name, ...(subject_alternative_names ?? [])].map((n) => n.toLowerCase()))];
};

async function precheck(lh: Lighthouse): Promise<void> {
  refuseUnsupportedNames(lh, deviceNames(lh));
  await lh.client.login();
  const https = await lh.client.readHttps('certificate settings read');
  lh.previousCert = typeof https.cert === 'string' ? https.cert : undefined;
  lh.context.log(`the Lighthouse holds a certificate ${validity(lh, https)}`);
  const pending = https.csr as Json | undefined;
  if (pending && typeof pending === 'object' && Object.keys(pending).length > 0)
    lh.context.log('a CSR is already pending on the Lighthouse; it will be replaced by a new one');
}

/**
 * The `https.csr` object, without `"csr": "new"`: the CSR's fields as the RAML spells them. The upload sends it
 * again with the certificate (as Ottr did), because a PUT without `https.csr` cancels the pending CSR and its key.
 */
function csrFields(lh: Lighthouse, request: CsrRequest): Json {
  const { sanField, subject } = lh.options;
  return {
    common_name: request.names[0],
    key_length: request.key.size ?? 2048,
    ...subject,
    ...(sanField ? { [sanField]: request.names } : {}),
  };
}

async function generateCsr(lh: Lighthouse, request: CsrRequest): Promise<string> {
  const { client } = lh;
  if (request.key.type !== 'rsa')
    throw new Error(
      `Lighthouse generates RSA keys only, and the key policy asks for ECDSA${request.key.curve ? ` ${request.key.curve}` : ''}: give this authority an RSA key policy`,
    );
  refuseUnsupportedNames(lh, request.names);
  const answer = await client.updateHttps('CSR generation', {
    csr: { csr: 'new', ...csrFields(lh, request) },
  });
  const location = ((answer.json?.https as Json | undefined)?.csr as Json | undefined)?.csr;
  const text = await client.downloadCsr(location);
  if (text.startsWith('PK\u0003\u0004'))
    throw client.failure(
      'Lighthouse CSR download: the answer is a ZIP archive, not the PEM this driver reads',
    );
  const pem = PEM_CSR.exec(text);
  if (!pem) throw client.failure(`Lighthouse CSR download: no CSR in the answer: ${client.excerptOf(text)}`);
  return `-----BEGIN CERTIFICATE REQUEST-----${pem[1]}-----END CERTIFICATE REQUEST-----\n`;
}

async function install(lh: Lighthouse, chainPem: string, request: CsrRequest): Promise<InstallReceipt> {
  // One certificate slot: nothing can be staged; activate uploads the chain.
  const pems = chainPem.match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) throw new Error('the issued chain holds no certificate');
  const leaf = new X509Certificate(pems[0]!);
  // After the restart the web server presents this certificate: its key is the one the Lighthouse made.
  lh.client.trustInstalled(pems[0]!);
  return {
    chain: `${pems.join('\n')}\n`,
    csr: csrFields(lh, request),
    leafSerial: leaf.serialNumber.toLowerCase(),
    ...(lh.previousCert ? { previous: lh.previousCert } : {}),
  };
}

async function activate(lh: Lighthouse, receipt: InstallReceipt): Promise<void> {
  const { client } = lh;
  const chain = String(receipt.chain);
  const leaf = leafOf(chain)!;
  const csr = receipt.csr;
  if (!csr || typeof csr !== 'object')
    throw new Error(
      'Lighthouse certificate upload: the install receipt holds no CSR object, and an upload without one would cancel the pending CSR and its key; nothing was sent',
    );
  try {
    const answer = await client.updateHttps('certificate upload', { cert: chain, csr: csr as Json });
    refuseUntakenUpload(lh, answer.json?.https as Json | undefined, leaf);
  } catch (e) {
    if (e instanceof DeviceError) throw e;
    // No answer: the upload may have been stored and the web server be restarting already.
    const dropped = (e as Error).message;
    lh.context.log(`the certificate upload got no answer (${dropped}); asking the device`);
    const configured = await configuredLeafAfterDrop(lh).catch((f: Error) => {
      throw client.failure(`Lighthouse certificate upload: no answer (${dropped}), and then ${f.message}`);
    });
    if (!configured || !sameLeaf(configured, leaf))
      throw client.failure(
        `Lighthouse certificate upload: the connection closed without an answer (${dropped}) and the device still holds its previous certificate`,
      );
  }
  await awaitRestart(lh, leaf);
}

/**
 * The answer to the upload holds the updated HTTPS details (RAML): when they name another certificate than
 * `leaf` (by its PEM, or else by `valid_from`), the upload did not take and no restart will bring it.
 */
function refuseUntakenUpload(lh: Lighthouse, https: Json | undefined, leaf: X509Certificate): void {
  if (!https || typeof https !== 'object') return;
  const held = typeof https.cert === 'string' ? leafOf(https.cert) : undefined;
  const heldFrom = parseOpenSslTime(https.valid_from);
  const other = held
    ? !sameLeaf(held, leaf)
    : heldFrom !== undefined && heldFrom.getTime() !== parseOpenSslTime(leaf.validFrom)?.getTime();
  if (!other) return;
  const previous = lh.previousCert ? leafOf(lh.previousCert) : undefined;
  const which =
    held && previous && sameLeaf(held, previous) ? 'its previous certificate' : 'another certificate';
  throw lh.client.failure(
    `Lighthouse certificate upload: the device answered the upload with ${which} (${validity(lh, https)}), not the new one (serial ${leaf.serialNumber.toLowerCase()}): it did not take the certificate`,
  );
}

/**
 * Polls until the management handshake presents `leaf` and the API answers (logging in again: the restart
 * drops sessions). Backoff 100 ms → 2 s, bounded by restart_timeout.
 */
async function awaitRestart(lh: Lighthouse, leaf: X509Certificate): Promise<void> {
  const { client, context } = lh;
  const serial = leaf.serialNumber.toLowerCase();
  const { attempts, ms } = await awaitServed(
    client.endpoint,
    async (served) => {
      if (!sameLeaf(served, leaf))
        return `serving serial ${served.serialNumber.toLowerCase()}, not ${serial}`;
      return client.readHttps('certificate settings read after the restart').then(
        () => undefined,
        (e: Error) => `the new certificate is served but the API does not answer yet: ${e.message}`,
      );
    },
    {
      timeoutMs: lh.options.restartTimeoutMs,
      signal: context.signal,
      what: `Lighthouse web server restart: the new certificate (serial ${serial}) was not served`,
    },
  ).catch((e: Error) => {
    throw client.failure(e.message);
  });
  context.log(`the web server serves the new certificate after ${ms} ms (${attempts} attempts)`);
}

/**
 * The certificate services/https holds once the API answers again, after a connection that dropped: a refusal
 * by the device ends the wait, a connection that fails again is tried again until restart_timeout.
 */
async function configuredLeafAfterDrop(lh: Lighthouse): Promise<X509Certificate | undefined> {
  const outcome = await poll(
    async () => {
      try {
        const https = await lh.client.readHttps('certificate settings read after the dropped upload');
        return done(typeof https.cert === 'string' ? leafOf(https.cert) : undefined);
      } catch (e) {
        if (e instanceof DeviceError) throw e;
        return notYet((e as Error).message);
      }
    },
    { timeoutMs: lh.options.restartTimeoutMs, signal: lh.context.signal },
  );
  if (!outcome.ok) throw new Error(outcome.reason);
  return outcome.value;
}

async function rollback(lh: Lighthouse, receipt: InstallReceipt): Promise<void> {
  const { client } = lh;
  const leaf = leafOf(String(receipt.chain))!;
  const serial = leaf.serialNumber.toLowerCase();
  let configured: X509Certificate | undefined;
  let unreadable: string | undefined;
  try {
    const https = await client.readHttps('certificate settings read for the rollback');
    configured = typeof https.cert === 'string' ? leafOf(https.cert) : undefined;
  } catch (e) {
    unreadable = (e as Error).message;
  }
  const served = (await fetchServedChain(client.endpoint, 5000).catch(() => []))[0];
  const servesNew = served !== undefined && sameLeaf(served, leaf);
  if (!unreadable && !(configured && sameLeaf(configured, leaf)) && !servesNew) {
    // The upload never took: the previous certificate and key are untouched; only the new key goes.
    await client.cancelCsr('cancellation of the pending CSR');
    return;
  }
  const servedSerial = served ? `serial ${served.serialNumber.toLowerCase()}` : 'nothing';
  if (unreadable && !servesNew)
    throw client.failure(
      `Lighthouse rollback: the certificate settings could not be read (${unreadable}), so whether the new certificate (serial ${serial}) was installed is unknown; the device serves ${servedSerial}. Lighthouse keeps one key: if it was installed, the previous certificate cannot be restored`,
      false,
    );
  const what = servesNew
    ? `the device serves the new certificate (serial ${serial}, valid until ${new Date(leaf.validTo).toISOString()}), which is valid`
    : `its configuration holds the new certificate (serial ${serial}) while the web server still serves ${servedSerial}; it serves the new one after its next web server restart`;
  throw client.failure(
    `Lighthouse keeps one key: the previous certificate cannot be restored after activation; ${what}`,
    false,
  );
}

/**
 * Opengear Lighthouse over its REST API v3.7: session login, a new RSA key and CSR generated on the device
 * (`services/https`, `csr: "new"`, the subject fields as the RAML spells them; SANs only in a `san_field` the
 * route names, as v3.7 documents none), the CSR downloaded from the location the device names (path only, from
 * the same trusted host), the full chain uploaded together with its CSR object (a PUT without one cancels the
 * pending CSR), and the web server's restart awaited by polling the management handshake until it presents the
 * new leaf and the API answers again (sessions do not survive the restart: the driver logs in again). Lighthouse holds one key: once the new certificate is
 * installed the previous one cannot be restored, and rollback says so instead of pretending. Every session token
 * is masked the moment it arrives; messages name the credential, never any part of it. The transport is in
 * client.ts; these are the session steps.
 */
export const lighthouseDriver: PlatformDriver<LighthouseOptions> = guardedDriver(
  'lighthouse',
  async (context, guard): Promise<DriverSession> => {
    const lh: Lighthouse = {
      client: new LighthouseClient(context, guard),
      context,
      options: context.options,
    };
    return {
      precheck: () => precheck(lh),
      generateCsr: (request) => generateCsr(lh, request),
      install: (chainPem, request) => install(lh, chainPem, request),
      activate: (receipt) => activate(lh, receipt),
      rollback: (receipt) => rollback(lh, receipt),
      async cleanup() {
        // One certificate slot: the upload replaced the previous certificate and key; nothing is left over.
      },
      async discard() {
        await lh.client.cancelCsr('cancellation of the pending CSR').catch(() => {});
      },
      tlsEndpoint: () => lh.client.endpoint,
      close: () => lh.client.logout(),
    };
  },
);
