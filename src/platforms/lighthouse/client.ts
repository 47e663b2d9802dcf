import type { TlsEndpoint } from '../../verify/tls.ts';
import type { DriverContext } from '../contract.ts';
import type { CredentialGuard } from '../shared/credential-guard.ts';
import {
  httpsCall,
  type ManagementApi,
  managementApi,
  managementLogin,
  trustInstalled,
} from '../shared/https-client.ts';

export type Json = Record<string, unknown>;

/** One answer of the REST API: its status, its JSON (without any private key) when it is JSON, its text. */
export interface LighthouseAnswer {
  status: number;
  json: Json | undefined;
  text: string;
}

const BASE = '/api/v3.7';
const HTTPS = `${BASE}/services/https`;
const CSR_DOWNLOAD = `${HTTPS}?zip=true`;

/** An error the device itself answered (as opposed to a connection that failed). */
export class DeviceError extends Error {}

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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const OPENSSL_TIME = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/;

/**
 * `valid_from` / `valid_to` of `services/https`, which the v3.7 RAML shows in OpenSSL's text form
 * ("Sep 21 00:39:03 2016 GMT", the day space-padded); undefined for anything else, rather than a guess.
 */
export function parseOpenSslTime(text: unknown): Date | undefined {
  const match = typeof text === 'string' ? OPENSSL_TIME.exec(text) : null;
  if (!match) return undefined;
  const [, month, day, hours, minutes, seconds, year] = match;
  const monthIndex = MONTHS.indexOf(month!);
  if (monthIndex < 0) return undefined;
  const time = new Date(
    Date.UTC(Number(year), monthIndex, Number(day), Number(hours), Number(minutes), Number(seconds)),
  );
  return time.getUTCDate() === Number(day) && time.getUTCHours() === Number(hours) ? time : undefined;
}

function parseJson(text: string): Json | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Lighthouse REST API v3.7 as one session: the login with `user:password` (its token masked the moment it
 * arrives and sent only in the `Authorization` header and the logout path), one new login when a session is
 * refused (the web server's restart drops every session), the vendor's error shapes as messages that name the
 * step, and no private key kept from any answer. No message leaves it with the password or a session token in
 * it, nor device text with a user name (the guard checks again).
 */
export class LighthouseClient {
  readonly endpoint: TlsEndpoint;
  private readonly api: ManagementApi;
  private readonly credential: { name: string; user: string; password: string };
  private session = '';

  constructor(
    private readonly context: DriverContext<unknown>,
    private readonly guard: CredentialGuard,
  ) {
    this.api = managementApi(context);
    this.endpoint = { host: this.api.host, port: this.api.port, servername: this.api.servername };
    this.credential = managementLogin(context, 'the Lighthouse login');
  }

  /** An error whose message holds no part of the credential; a DeviceError when the device answered it. */
  failure(message: string, answeredByDevice = true): Error {
    return answeredByDevice
      ? new DeviceError(this.guard.scrub(message))
      : new Error(this.guard.scrub(message));
  }

  /** What the device answered, shortened for a message, without any part of the credential it may echo. */
  excerptOf(text: string): string {
    return this.guard.fromDevice(excerpt(text));
  }

  /** From now on the key of `leafPem` (the certificate this session installs) is trusted too. */
  trustInstalled(leafPem: string): void {
    trustInstalled(this.api.trust, leafPem);
  }

  async login(): Promise<void> {
    this.session = '';
    const { name, user, password } = this.credential;
    const { status, json, text } = await this.send('POST', `${BASE}/sessions`, { username: user, password });
    // A 303 names its session `sid`: masked like any other session.
    for (const issued of [json?.session, json?.sid])
      if (typeof issued === 'string' && issued) this.guard.derived(issued);
    const refused = this.loginRefusal(status, json, text);
    if (refused) throw this.failure(`Lighthouse login ${refused}`);
    this.session = String(json?.session);
    if (json?.state !== undefined && json.state !== 'authenticated') {
      const state = this.guard.fromDevice(String(json.state).slice(0, 40));
      await this.logout();
      throw this.failure(
        `Lighthouse login with the credential ${name} asks for a challenge response (session state "${state}"); the driver answers none (the RAML's PUT sessions/<id>): give the rotation an API user that logs in with its password alone`,
      );
    }
    if (json?.password_expired === true) {
      await this.logout();
      throw this.failure(
        `Lighthouse login with the credential ${name}: the password has expired; change it on the device and in the secret`,
      );
    }
  }

  /** Why a login answer holds no session, as the end of a sentence; undefined when it holds one. */
  private loginRefusal(status: number, json: Json | undefined, text: string): string | undefined {
    const { name } = this.credential;
    if (status === 303)
      return `with the credential ${name} was answered with a redirect to another session (HTTP 303); the driver follows no login redirect, as the v3.7 RAML does not say what the new session needs, and changed nothing: check how the Lighthouse authenticates this user (remote AAA, multiple instances)`;
    const errors = this.errorsOf(json);
    const issued = json?.session;
    if (status === 200 && !errors && typeof issued === 'string' && issued) return undefined;
    return `refused for the credential ${name}: ${errors ?? (json ? 'no session in the answer' : this.excerptOf(text))} (HTTP ${status})`;
  }

  async logout(): Promise<void> {
    // The vendor's logout names the session in the path; the session is dead from this moment on.
    if (this.session)
      await this.send('DELETE', `${BASE}/sessions/${encodeURIComponent(this.session)}`).catch(() => {});
    this.session = '';
  }

  /** The `https` object of `services/https`: the certificate settings. */
  async readHttps(step: string): Promise<Json> {
    const { json, text } = await this.call(step, 'GET', HTTPS);
    const https = json?.https;
    if (!https || typeof https !== 'object')
      throw this.failure(`Lighthouse ${step}: the answer has no "https" object: ${this.excerptOf(text)}`);
    return https as Json;
  }

  /** A PUT of `services/https` with `{"https": https}`. */
  updateHttps(step: string, https: Json): Promise<LighthouseAnswer> {
    return this.call(step, 'PUT', HTTPS, { https });
  }

  /** Cancels the pending CSR and its key: a PUT without "csr". */
  cancelCsr(step: string): Promise<LighthouseAnswer> {
    return this.updateHttps(step, {});
  }

  /** The text at the CSR location the device named (`https.csr.csr`), read from the trusted host only. */
  async downloadCsr(location: unknown): Promise<string> {
    const { text } = await this.call('CSR download', 'GET', this.downloadPath(location));
    return text;
  }

  /** One API call; a refused session (expired, or dropped by a restart) is replaced by one new login. */
  private async call(
    step: string,
    method: string,
    path: string,
    payload?: unknown,
  ): Promise<LighthouseAnswer> {
    let answer = await this.send(method, path, payload);
    if (answer.status === 401) {
      this.context.log(`the Lighthouse session was refused during ${step}; logging in again`);
      await this.login();
      answer = await this.send(method, path, payload);
    }
    const errors = this.errorsOf(answer.json);
    if (errors || answer.status >= 400)
      throw this.failure(
        `Lighthouse ${step}: ${errors ?? (this.excerptOf(answer.text) || 'no details')} (HTTP ${answer.status})`,
      );
    return answer;
  }

  private async send(method: string, path: string, payload?: unknown): Promise<LighthouseAnswer> {
    const { signal } = this.context;
    if (signal.aborted) throw signal.reason;
    const body = payload === undefined ? undefined : Buffer.from(JSON.stringify(payload));
    const { host, port, servername, trust } = this.api;
    const response = await httpsCall(
      {
        host,
        port,
        servername,
        method,
        path,
        headers: {
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
          ...(this.session ? { authorization: `Token ${this.session}` } : {}),
        },
        ...(body ? { body } : {}),
      },
      trust,
    );
    const text = response.body.toString('utf8');
    this.context.audit?.(text);
    const json = parseJson(text);
    if (json && dropPrivateKeys(json))
      this.context.log(`Lighthouse sent a private key in its answer to ${method} ${path}; it was discarded`);
    return { status: response.status, json, text };
  }

  /** What the device said, without any part of the credential it may echo. */
  private errorsOf(json: Json | undefined): string | undefined {
    const errors = vendorErrors(json);
    return errors === undefined ? undefined : this.guard.fromDevice(errors);
  }

  /** Only the path and query of the CSR location are used, against the trusted host: the token goes nowhere else. */
  private downloadPath(location: unknown): string {
    if (typeof location !== 'string' || !location) {
      this.context.log(`Lighthouse named no CSR location; reading ${CSR_DOWNLOAD}`);
      return CSR_DOWNLOAD;
    }
    const { host, port, servername } = this.api;
    let url: URL;
    try {
      url = new URL(location, `https://${servername}:${port}`);
    } catch {
      throw this.failure(
        `Lighthouse CSR generation: the CSR location ${this.excerptOf(location)} is not a URL`,
      );
    }
    if (!url.pathname.startsWith('/api/'))
      throw this.failure(
        `Lighthouse CSR generation: the CSR location ${url.pathname} is outside the REST API`,
      );
    if (url.hostname !== servername && url.hostname !== host)
      this.context.log(`the CSR location names ${url.host}; it is read from ${host}:${port} only`);
    return `${url.pathname}${url.search}`;
  }
}
