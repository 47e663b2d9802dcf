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

/** An answer of the BIG-IP: its HTTP status, headers and body (as JSON: undefined when it is not JSON). */
export interface F5Answer {
  status: number;
  json: Json | undefined;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

const DOWNLOADS = '/var/config/rest/downloads/';
/** The chunk f5-common-python and f5-ansible download with; a CSR is far smaller. */
const DOWNLOAD_CHUNK = 512 * 1024;

/**
 * A role that may not use a resource is refused with HTTP 401 too ("Authorization failed: user=… resource=…"):
 * that is no expired token, and a new login would not change it.
 */
const refusedForRole = (answer: F5Answer) =>
  typeof answer.json?.message === 'string' && answer.json.message.startsWith('Authorization failed: user=');

/** "/Common/a.crt" → "~Common~a.crt", the form iControl REST uses for an object in a URL. */
export const urlName = (fullPath: string) => encodeURIComponent(fullPath.replace(/\//g, '~'));

/** The device's error, if any; `fromDevice` keeps any part of the credential it may echo out of the text. */
export function errorText(
  json: Json | undefined,
  status: number,
  fromDevice: (text: string) => string,
): string | undefined {
  const code = typeof json?.code === 'number' ? json.code : undefined;
  if (status < 400 && (code === undefined || code < 400)) return undefined;
  const message = typeof json?.message === 'string' ? fromDevice(json.message) : `HTTP ${status}`;
  return `${message} (HTTP ${status}${code && code !== status ? `, code ${code}` : ''})`;
}

function parseJson(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

/**
 * iControl REST on one BIG-IP: token login with the `user:password` secret (the token masked the moment it
 * arrives), one new login when a token is refused as expired, every answer parsed and checked for F5's error
 * shapes, file-transfer uploads. Messages name the credential, never any part of it; device text goes through
 * the credential guard before it enters a message.
 */
export class F5Client {
  private readonly api: ManagementApi;
  private readonly credentialName: string;
  private readonly user: string;
  private readonly password: string;
  private token = '';

  constructor(
    private readonly context: DriverContext<unknown>,
    private readonly guard: CredentialGuard,
  ) {
    this.api = managementApi(context);
    const { name, user, password } = managementLogin(context, 'the F5 login');
    this.credentialName = name;
    this.user = user;
    this.password = password;
  }

  /** The management interface, as TLS sees it (httpd serves it). */
  get managementEndpoint(): TlsEndpoint {
    return { host: this.api.host, port: this.api.port, servername: this.api.servername };
  }

  /** From now on the key of `leafPem`, a certificate this session installed, is trusted too (HttpsTrust). */
  trustInstalled(leafPem: string): void {
    trustInstalled(this.api.trust, leafPem);
  }

  /** Text the device answered, fit for a message: no part of any credential or token (CredentialGuard). */
  fromDevice(text: string): string {
    return this.guard.fromDevice(text);
  }

  /** The device's error in `answer`, if any, scrubbed. */
  problemOf(answer: F5Answer): string | undefined {
    return errorText(answer.json, answer.status, this.guard.fromDevice);
  }

  /** One request as is: the token in its header, no re-login, no error check (callers check the status). */
  async send(
    method: string,
    path: string,
    body?: Buffer,
    headers: Record<string, string> = {},
  ): Promise<F5Answer> {
    const { signal } = this.context;
    if (signal.aborted) throw signal.reason;
    const response = await httpsCall(
      {
        host: this.api.host,
        port: this.api.port,
        servername: this.api.servername,
        method,
        path,
        headers: {
          ...(body ? { 'content-length': String(body.length) } : {}),
          ...(this.token ? { 'X-F5-Auth-Token': this.token } : {}),
          ...headers,
        },
        ...(body ? { body } : {}),
      },
      this.api.trust,
    );
    const text = response.body.toString('utf8');
    this.context.audit?.(text);
    return { status: response.status, json: parseJson(text), text, headers: response.headers };
  }

  async login(): Promise<void> {
    this.token = '';
    const body = Buffer.from(
      JSON.stringify({ username: this.user, password: this.password, loginProviderName: 'tmos' }),
    );
    const answer = await this.send('POST', '/mgmt/shared/authn/login', body, {
      'content-type': 'application/json',
    });
    const issued = (answer.json?.token as Json | undefined)?.token;
    if (typeof issued === 'string' && issued) this.guard.derived(issued);
    if (answer.status !== 200 || typeof issued !== 'string' || !issued)
      throw new Error(
        `F5 login refused for the credential ${this.credentialName}: ${this.problemOf(answer) ?? 'no token in the answer'}`,
      );
    this.token = issued;
  }

  /** One REST call; an expired token (401) is replaced by a new login once, then the call is repeated. */
  async call(what: string, method: string, path: string, payload?: unknown): Promise<Json> {
    const body = payload === undefined ? undefined : Buffer.from(JSON.stringify(payload));
    const headers: Record<string, string> =
      payload === undefined ? {} : { 'content-type': 'application/json' };
    const answer = await this.sendLoggedIn(method, path, body, headers, () =>
      this.context.log('the F5 token was refused (expired?); logging in again'),
    );
    const problem = this.problemOf(answer);
    if (problem) throw new Error(`F5 ${what}: ${problem}`);
    return answer.json ?? {};
  }

  /** Uploads `content` as `file` through file-transfer; returns where the BIG-IP put it. */
  async upload(file: string, content: string): Promise<string> {
    const data = Buffer.from(content);
    const answer = await this.sendLoggedIn(
      'POST',
      `/mgmt/shared/file-transfer/uploads/${encodeURIComponent(file)}`,
      data,
      { 'content-type': 'application/octet-stream', 'content-range': `0-${data.length - 1}/${data.length}` },
    );
    const problem = this.problemOf(answer);
    if (problem) throw new Error(`F5 upload of ${file}: ${problem}`);
    return String(answer.json?.localFilePath ?? `${DOWNLOADS}${file}`);
  }

  /**
   * Downloads `file` from /var/config/rest/bulk through file-transfer/bulk, as f5-common-python's
   * FileDownloadMixin does: a first request learns the size from Content-Range (BIG-IP answers 400 when the range
   * reaches past a small file), a second asks for exactly the file.
   */
  async download(file: string): Promise<string> {
    const path = `/mgmt/shared/file-transfer/bulk/${encodeURIComponent(file)}`;
    const ranged = (range: string) =>
      this.sendLoggedIn('GET', path, undefined, {
        'content-range': range,
        'content-type': 'application/octet-stream',
      });
    const first = await ranged(`0-${DOWNLOAD_CHUNK - 1}/0`);
    const total = Number(/\/(\d+)$/.exec(String(first.headers['content-range'] ?? ''))?.[1] ?? Number.NaN);
    if (!Number.isFinite(total) || total <= 0 || total > DOWNLOAD_CHUNK)
      throw new Error(
        `F5 download of ${file}: ${this.problemOf(first) ?? `no usable Content-Range (HTTP ${first.status})`}`,
      );
    if (first.status === 200 && Buffer.byteLength(first.text) === total) return first.text;
    const whole = await ranged(`0-${total - 1}/${total}`);
    const problem = this.problemOf(whole);
    if (problem) throw new Error(`F5 download of ${file}: ${problem}`);
    return whole.text;
  }

  /** Ends the session's token, quietly: it is useless from this moment on anyway. */
  async logout(): Promise<void> {
    // The vendor's logout names the token in the path.
    if (this.token)
      await this.send('DELETE', `/mgmt/shared/authz/tokens/${encodeURIComponent(this.token)}`).catch(
        () => {},
      );
    this.token = '';
  }

  /**
   * `send`, and once more after a new login when the token was refused (401, but not a role's refusal);
   * `onExpired` is told first.
   */
  private async sendLoggedIn(
    method: string,
    path: string,
    body: Buffer | undefined,
    headers: Record<string, string>,
    onExpired: () => void = () => {},
  ): Promise<F5Answer> {
    const answer = await this.send(method, path, body, headers);
    if (answer.status !== 401 || refusedForRole(answer)) return answer;
    onExpired();
    await this.login();
    return this.send(method, path, body, headers);
  }
}
