import { X509Certificate } from 'node:crypto';
import { parseDuration } from '../../util/duration.ts';
import { sleep } from '../../util/sleep.ts';
import { awaitServed } from '../../verify/await-served.ts';
import { fetchServedChain, type TlsEndpoint } from '../../verify/tls.ts';
import type { DriverContext, DriverSession, InstallReceipt, PlatformDriver } from '../contract.ts';
import { type CredentialGuard, guardedDriver } from '../shared/credential-guard.ts';
import { httpsCall, managementApi, managementLogin, trustInstalled } from '../shared/https-client.ts';

export interface LighthouseOptions {
  /** The CSR field carrying the SANs (not in the v3.7 RAML; see README). */
  san_field?: string;
  /** How long the web server may take to come back with the new certificate. */
  restart_timeout?: string;
  /** Subject fields sent with the CSR: organization, organization_unit, locality, state, country, email. */
  subject?: Record<string, string>;
}

type Json = Record<string, unknown>;

const BASE = '/api/v3.7';
const HTTPS = `${BASE}/services/https`;
const CSR_DOWNLOAD = `${HTTPS}?zip=true`;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_CSR =
  /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (?:NEW )?CERTIFICATE REQUEST-----/;
const SUBJECT_FIELDS = ['organization', 'organization_unit', 'locality', 'state', 'country', 'email'];

/** An error the device itself answered (as opposed to a connection that failed). */
class DeviceError extends Error {}

/** The vendor's `{"error":[{type,code,text,args,level}]}`, as one sentence; undefined when there is none. */
function vendorErrors(json: Json | undefined): string | undefined {
  const list = json?.error;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return list
    .map((entry: Json) => {
      const args = Object.entries((entry?.args as Json | undefined) ?? {})
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(', ');
      const text = typeof entry?.text === 'string' ? entry.text : 'error';
      return `${text}${args ? ` (${args})` : ''} [type ${entry?.type ?? '?'}, code ${entry?.code ?? '?'}]`;
    })
    .join('; ');
}

/**
 * Removes every `key` field and every string holding a private key, wherever it is; true when something was
 * removed. The RAML's examples show the private key in `services/https` answers; it is never kept.
 */
function dropPrivateKeys(node: unknown): boolean {
  if (!node || typeof node !== 'object') return false;
  let dropped = false;
  const record = node as Record<string, unknown>;
  for (const [k, v] of Object.entries(record)) {
    if (k === 'key' || (typeof v === 'string' && /PRIVATE KEY/.test(v))) {
      delete record[k];
      dropped = true;
    } else if (dropPrivateKeys(v)) dropped = true;
  }
  return dropped;
}

const excerpt = (text: string) =>
  /PRIVATE KEY/.test(text) ? '(withheld: it holds a private key)' : text.slice(0, 200).trim();

const leafOf = (pem: string) => {
  const first = pem.match(PEM_CERTIFICATE)?.[0];
  return first ? new X509Certificate(first) : undefined;
};

/**
 * Opengear Lighthouse over its REST API v3.7: session login, a new RSA key and CSR generated on the device
 * (`services/https`, `csr: "new"`, the SANs in the `san_field`), the CSR downloaded from the location the device
 * names (path only, from the same trusted host), the full chain uploaded, and the web server's restart awaited by
 * polling the management handshake until it presents the new leaf and the API answers again (sessions do not
 * survive the restart: the driver logs in again). Lighthouse holds one key: once the new certificate is
 * installed the previous one cannot be restored, and rollback says so instead of pretending. Every session token
 * is masked the moment it arrives; messages name the credential, never any part of it.
 */
export const lighthouseDriver: PlatformDriver = guardedDriver(
  'lighthouse',
  async (context: DriverContext, guard: CredentialGuard): Promise<DriverSession> => {
    const { route, signal } = context;
    const options = (route.options ?? {}) as LighthouseOptions;
    const sanField = options.san_field ?? 'subject_alternative_names';
    const restartTimeout = parseDuration(options.restart_timeout ?? '3m') ?? 180_000;
    const subject = Object.fromEntries(
      Object.entries(options.subject ?? {}).filter(([k]) => SUBJECT_FIELDS.includes(k)),
    );
    const api = managementApi(context);
    const endpoint: TlsEndpoint = { host: api.host, port: api.port, servername: api.servername };
    const { name: credentialName, user, password } = managementLogin(context, 'the Lighthouse login');

    let session = '';
    /** No message leaves the driver with the password or a session token in it (the guard checks again). */
    const failure = (message: string, answeredByDevice = true) =>
      answeredByDevice ? new DeviceError(guard.scrub(message)) : new Error(guard.scrub(message));
    /** What the device said, without any part of the credential it may echo. */
    const errorsOf = (json: Json | undefined) => {
      const errors = vendorErrors(json);
      return errors === undefined ? undefined : guard.fromDevice(errors);
    };
    const excerptOf = (text: string) => guard.fromDevice(excerpt(text));

    async function send(method: string, path: string, payload?: unknown) {
      if (signal.aborted) throw signal.reason;
      const body = payload === undefined ? undefined : Buffer.from(JSON.stringify(payload));
      const response = await httpsCall(
        {
          host: api.host,
          port: api.port,
          servername: api.servername,
          method,
          path,
          headers: {
            accept: 'application/json',
            ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
            ...(session ? { authorization: `Token ${session}` } : {}),
          },
          ...(body ? { body } : {}),
        },
        api.trust,
      );
      const text = response.body.toString('utf8');
      context.audit?.(text);
      let json: Json | undefined;
      try {
        const parsed: unknown = JSON.parse(text);
        json = parsed && typeof parsed === 'object' ? (parsed as Json) : undefined;
      } catch {
        json = undefined;
      }
      if (json && dropPrivateKeys(json))
        context.log(`Lighthouse sent a private key in its answer to ${method} ${path}; it was discarded`);
      return { status: response.status, json, text };
    }

    async function login(): Promise<void> {
      session = '';
      const { status, json, text } = await send('POST', `${BASE}/sessions`, { username: user, password });
      const issued = json?.session;
      if (typeof issued === 'string' && issued) guard.derived(issued);
      const errors = errorsOf(json);
      if (status !== 200 || errors || typeof issued !== 'string' || !issued)
        throw failure(
          `Lighthouse login refused for the credential ${credentialName}: ${errors ?? (json ? 'no session in the answer' : excerptOf(text))} (HTTP ${status})`,
        );
      session = issued;
      if (json?.password_expired === true) {
        await logout();
        throw failure(
          `Lighthouse login with the credential ${credentialName}: the password has expired; change it on the device and in the secret`,
        );
      }
    }

    async function logout(): Promise<void> {
      // The vendor's logout names the session in the path; the session is dead from this moment on.
      if (session) await send('DELETE', `${BASE}/sessions/${encodeURIComponent(session)}`).catch(() => {});
      session = '';
    }

    /** One API call; a refused session (expired, or dropped by a restart) is replaced by one new login. */
    async function call(step: string, method: string, path: string, payload?: unknown) {
      let answer = await send(method, path, payload);
      if (answer.status === 401) {
        context.log(`the Lighthouse session was refused during ${step}; logging in again`);
        await login();
        answer = await send(method, path, payload);
      }
      const errors = errorsOf(answer.json);
      if (errors || answer.status >= 400)
        throw failure(
          `Lighthouse ${step}: ${errors ?? (excerptOf(answer.text) || 'no details')} (HTTP ${answer.status})`,
        );
      return answer;
    }

    async function readHttps(step: string): Promise<Json> {
      const { json, text } = await call(step, 'GET', HTTPS);
      const https = json?.https;
      if (!https || typeof https !== 'object')
        throw failure(`Lighthouse ${step}: the answer has no "https" object: ${excerptOf(text)}`);
      return https as Json;
    }

    /** Cancels the pending CSR and its key: a PUT without "csr". */
    const cancelCsr = (step: string) => call(step, 'PUT', HTTPS, { https: {} });

    /** Only the path and query of the CSR location are used, against the trusted host: the token goes nowhere else. */
    function downloadPath(location: unknown): string {
      if (typeof location !== 'string' || !location) {
        context.log(`Lighthouse named no CSR location; reading ${CSR_DOWNLOAD}`);
        return CSR_DOWNLOAD;
      }
      let url: URL;
      try {
        url = new URL(location, `https://${api.servername}:${api.port}`);
      } catch {
        throw failure(`Lighthouse CSR generation: the CSR location ${excerptOf(location)} is not a URL`);
      }
      if (!url.pathname.startsWith('/api/'))
        throw failure(`Lighthouse CSR generation: the CSR location ${url.pathname} is outside the REST API`);
      if (url.hostname !== api.servername && url.hostname !== api.host)
        context.log(`the CSR location names ${url.host}; it is read from ${api.host}:${api.port} only`);
      return `${url.pathname}${url.search}`;
    }

    const sameLeaf = (a: X509Certificate, b: X509Certificate) => a.fingerprint256 === b.fingerprint256;

    /**
     * Polls until the management handshake presents `leaf` and the API answers (logging in again: the restart
     * drops sessions). Backoff 100 ms → 2 s, bounded by restart_timeout.
     */
    async function awaitRestart(leaf: X509Certificate): Promise<void> {
      const serial = leaf.serialNumber.toLowerCase();
      const { attempts, ms } = await awaitServed(
        endpoint,
        async (served) => {
          if (!sameLeaf(served, leaf))
            return `serving serial ${served.serialNumber.toLowerCase()}, not ${serial}`;
          return readHttps('certificate settings read after the restart').then(
            () => undefined,
            (e: Error) => `the new certificate is served but the API does not answer yet: ${e.message}`,
          );
        },
        {
          timeoutMs: restartTimeout,
          signal,
          what: `Lighthouse web server restart: the new certificate (serial ${serial}) was not served`,
        },
      ).catch((e: Error) => {
        throw failure(e.message);
      });
      context.log(`the web server serves the new certificate after ${ms} ms (${attempts} attempts)`);
    }

    /** The certificate services/https holds once the API answers again, after a connection that dropped. */
    async function configuredLeafAfterDrop(): Promise<X509Certificate | undefined> {
      const deadline = Date.now() + restartTimeout;
      for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
        try {
          const https = await readHttps('certificate settings read after the dropped upload');
          return typeof https.cert === 'string' ? leafOf(https.cert) : undefined;
        } catch (e) {
          if (e instanceof DeviceError || Date.now() > deadline) throw e;
        }
        await sleep(delay, signal);
      }
    }

    let previousCert: string | undefined;

    return {
      async precheck() {
        await login();
        const https = await readHttps('certificate settings read');
        previousCert = typeof https.cert === 'string' ? https.cert : undefined;
        const pending = https.csr as Json | undefined;
        if (pending && typeof pending === 'object' && Object.keys(pending).length > 0)
          context.log('a CSR is already pending on the Lighthouse; it will be replaced by a new one');
      },

      async generateCsr(request) {
        if (request.key.type !== 'rsa')
          throw new Error(
            `Lighthouse generates RSA keys only, and the key policy asks for ECDSA${request.key.curve ? ` ${request.key.curve}` : ''}: give this authority an RSA key policy`,
          );
        const answer = await call('CSR generation', 'PUT', HTTPS, {
          https: {
            csr: {
              csr: 'new',
              common_name: request.names[0],
              key_length: request.key.size ?? 2048,
              ...subject,
              [sanField]: request.names,
            },
          },
        });
        const location = ((answer.json?.https as Json | undefined)?.csr as Json | undefined)?.csr;
        const path = downloadPath(location);
        const { text } = await call('CSR download', 'GET', path);
        if (text.startsWith('PK\u0003\u0004'))
          throw failure(
            'Lighthouse CSR download: the answer is a ZIP archive, not the PEM this driver reads',
          );
        const pem = PEM_CSR.exec(text);
        if (!pem) throw failure(`Lighthouse CSR download: no CSR in the answer: ${excerptOf(text)}`);
        return `-----BEGIN CERTIFICATE REQUEST-----${pem[1]}-----END CERTIFICATE REQUEST-----\n`;
      },

      async install(chainPem): Promise<InstallReceipt> {
        // One certificate slot: nothing can be staged; activate uploads the chain.
        const pems = chainPem.match(PEM_CERTIFICATE) ?? [];
        if (pems.length === 0) throw new Error('the issued chain holds no certificate');
        const leaf = new X509Certificate(pems[0]!);
        // After the restart the web server presents this certificate: its key is the one the Lighthouse made.
        trustInstalled(api.trust, pems[0]!);
        return {
          chain: `${pems.join('\n')}\n`,
          leafSerial: leaf.serialNumber.toLowerCase(),
          ...(previousCert ? { previous: previousCert } : {}),
        };
      },

      async activate(receipt) {
        const chain = String(receipt.chain);
        const leaf = leafOf(chain)!;
        try {
          await call('certificate upload', 'PUT', HTTPS, { https: { cert: chain } });
        } catch (e) {
          if (e instanceof DeviceError) throw e;
          // No answer: the upload may have been stored and the web server be restarting already.
          context.log(`the certificate upload got no answer (${(e as Error).message}); asking the device`);
          const configured = await configuredLeafAfterDrop().catch((f: Error) => {
            throw failure(
              `Lighthouse certificate upload: no answer (${(e as Error).message}), and then ${f.message}`,
            );
          });
          if (!configured || !sameLeaf(configured, leaf))
            throw failure(
              `Lighthouse certificate upload: the connection closed without an answer (${(e as Error).message}) and the device still holds its previous certificate`,
            );
        }
        await awaitRestart(leaf);
      },

      async rollback(receipt) {
        const leaf = leafOf(String(receipt.chain))!;
        const serial = leaf.serialNumber.toLowerCase();
        let configured: X509Certificate | undefined;
        let unreadable: string | undefined;
        try {
          const https = await readHttps('certificate settings read for the rollback');
          configured = typeof https.cert === 'string' ? leafOf(https.cert) : undefined;
        } catch (e) {
          unreadable = (e as Error).message;
        }
        const served = (await fetchServedChain(endpoint, 5000).catch(() => []))[0];
        const servesNew = served !== undefined && sameLeaf(served, leaf);
        if (!unreadable && !(configured && sameLeaf(configured, leaf)) && !servesNew) {
          // The upload never took: the previous certificate and key are untouched; only the new key goes.
          await cancelCsr('cancellation of the pending CSR');
          return;
        }
        const servedSerial = served ? `serial ${served.serialNumber.toLowerCase()}` : 'nothing';
        if (unreadable && !servesNew)
          throw failure(
            `Lighthouse rollback: the certificate settings could not be read (${unreadable}), so whether the new certificate (serial ${serial}) was installed is unknown; the device serves ${servedSerial}. Lighthouse keeps one key: if it was installed, the previous certificate cannot be restored`,
            false,
          );
        const what = servesNew
          ? `the device serves the new certificate (serial ${serial}, valid until ${new Date(leaf.validTo).toISOString()}), which is valid`
          : `its configuration holds the new certificate (serial ${serial}) while the web server still serves ${servedSerial}; it serves the new one after its next web server restart`;
        throw failure(
          `Lighthouse keeps one key: the previous certificate cannot be restored after activation; ${what}`,
          false,
        );
      },

      async cleanup() {
        // One certificate slot: the upload replaced the previous certificate and key; nothing is left over.
      },

      async discard() {
        await cancelCsr('cancellation of the pending CSR').catch(() => {});
      },

      tlsEndpoint: () => endpoint,

      async close() {
        await logout();
      },
    };
  },
);
