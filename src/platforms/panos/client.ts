import { XMLParser } from 'fast-xml-parser';
import type { TlsEndpoint } from '../../verify/tls.ts';
import type { DriverContext } from '../contract.ts';
import type { CredentialGuard } from '../shared/credential-guard.ts';
import { type HttpsTrust, httpsCall, managementApi, trustInstalled } from '../shared/https-client.ts';

/** A parsed PAN-OS response: XML of whatever shape the request produced. */
// biome-ignore lint/suspicious/noExplicitAny: the API's responses are read field by field, each checked
export type Xml = Record<string, any>;

/** The parameters of one XML API request (`type`, `cmd`, `action`, `xpath`, `element`…). */
export type ApiForm = Record<string, string>;

/** A file sent with a request (`type=import`): the parameters then travel in the URL. */
export interface Upload {
  body: Buffer;
  contentType: string;
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });

/** A value escaped for use inside an XML element or attribute of a request. */
export const escapeXml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/'/g, '&apos;')
    .replace(/"/g, '&quot;');

/** The text of every <msg>/<line> in an error response, flattened. */
function messages(node: unknown): string {
  if (node === undefined || node === null) return '';
  if (typeof node !== 'object') return String(node);
  return Object.values(node as Record<string, unknown>)
    .map(messages)
    .filter(Boolean)
    .join(' ');
}

const responseOf = (text: string): Xml | undefined => {
  try {
    return (parser.parse(text) as { response?: Xml }).response;
  } catch {
    return undefined;
  }
};

/**
 * The text of a node of a `get` answer. Nodes of the candidate configuration that an admin changed and did not
 * commit carry `admin`, `dirtyId` and `time` attributes (pango's util tests), which the parser turns into an
 * object with the text under `#text`: read as a string, that object would be "[object Object]".
 */
export function textOf(node: unknown): string | undefined {
  if (node === undefined || node === null) return undefined;
  if (typeof node !== 'object') return String(node);
  const text = (node as Xml)['#text'];
  return text === undefined || text === null ? undefined : String(text);
}

/** Who changed a candidate node without committing it, and when, from its attributes; undefined when nobody. */
export function uncommittedChange(node: unknown): { admin: string; time?: string } | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const admin = (node as Xml)['@admin'];
  if (admin === undefined) return undefined;
  const time = (node as Xml)['@time'];
  return { admin: String(admin), ...(time !== undefined ? { time: String(time) } : {}) };
}

/** What the firewall answered with an error: its code (the XML API's `code` attribute) and HTTP status. */
export interface PanosAnswer {
  code: string;
  httpStatus: number;
}

// Kept beside the errors rather than on them, so that they stay plain Errors with only their message.
const answers = new WeakMap<Error, PanosAnswer>();

/** The firewall's answer behind an error of this client, or undefined for any other error (connection, trust…). */
export const answerOf = (error: unknown): PanosAnswer | undefined =>
  error instanceof Error ? answers.get(error) : undefined;

function apiFailure(message: string, answer: PanosAnswer): Error {
  const error = new Error(message);
  answers.set(error, answer);
  return error;
}

const CONNECTION_LOST =
  /ECONNRESET|ECONNREFUSED|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|socket hang up|no answer from|no TLS handshake/i;

/**
 * A request that failed because the management web server was not there to answer it (connection refused, reset,
 * dropped, a gateway error): what happens while it restarts after a commit that changed its certificate or
 * profile. Never a trust failure: a management certificate that is not trusted is never retried.
 */
export function isConnectionLost(error: unknown): boolean {
  const answer = answerOf(error);
  if (answer) return answer.httpStatus >= 502 && answer.httpStatus <= 504;
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return CONNECTION_LOST.test(`${code} ${error.message}`) && !/is not trusted/.test(error.message);
}

/** A credential that is `user:password` (logged in with keygen) rather than an API key. */
const isUserPassword = (credential: string) => credential.includes(':') && !/^LUFRPT/.test(credential);

/**
 * The PAN-OS XML API of one firewall: every request a POST to /api/, the API key in the X-PAN-KEY header (never
 * in a URL), every answer audited and checked for `status="error"`, whatever its HTTP status.
 * Whatever the firewall says reaches a message only through the credential guard.
 */
export class PanosClient {
  private apiKey = '';
  /** The user of a `user:password` credential (the admin keygen logged in), undefined for an API key. */
  loginUser: string | undefined;

  private constructor(
    private readonly context: DriverContext<unknown>,
    private readonly guard: CredentialGuard,
    /** The NAME of the secret holding the credential: what messages say instead of any part of it. */
    readonly credentialName: string,
    private readonly endpoint: TlsEndpoint,
    private readonly trust: HttpsTrust,
  ) {}

  /**
   * A client holding an API key: the secret `connection.credentials` names is the key itself, or `user:password`,
   * exchanged for a key with keygen.
   */
  static async login(context: DriverContext<unknown>, guard: CredentialGuard): Promise<PanosClient> {
    const { host, port, servername, trust } = managementApi(context);
    const credentialName = context.device.connection?.credentials;
    if (!credentialName)
      throw new Error('connection.credentials must name the secret with the API key or user:password');
    const credential = context.secret(credentialName);
    const client = new PanosClient(context, guard, credentialName, { host, port, servername }, trust);
    if (isUserPassword(credential)) {
      client.loginUser = credential.slice(0, credential.indexOf(':'));
      client.apiKey = await client.keygen(credential);
    } else client.apiKey = credential;
    return client;
  }

  /** Where the management interface serves its certificate. */
  tlsEndpoint(): TlsEndpoint {
    return { ...this.endpoint };
  }

  /** From now on the key of `leafPem` (installed by this session, made on the firewall) is trusted too. */
  trustInstalled(leafPem: string): void {
    trustInstalled(this.trust, leafPem);
  }

  /** What the firewall said (a text, or the <msg>/<line> elements of an answer), without any credential part. */
  said(node: unknown): string {
    return this.guard.fromDevice(messages(node));
  }

  /**
   * An API request; its <response> when the status is success, else an error with the vendor's code and msg.
   * The body is read whatever the HTTP status: PAN-OS answers most errors with HTTP 200, and bad requests and
   * refused keys with HTTP 400/403 and the same XML body.
   */
  async request(form: ApiForm, upload?: Upload): Promise<Xml> {
    const { status, text } = await this.post(form, { 'X-PAN-KEY': this.apiKey }, upload);
    const response = responseOf(text);
    if (!response && status !== 200) throw this.httpError(status, text);
    if (!response)
      throw new Error(
        `PAN-OS answered something that is not an API response: ${this.said(text.slice(0, 200))}`,
      );
    if (response['@status'] !== 'success' || status !== 200) throw this.apiError(form, response, status);
    return response;
  }

  /** An API request whose answer is a file (`type=export`), returned as text; an error answer is thrown. */
  async download(form: ApiForm): Promise<string> {
    const { status, text } = await this.post(form, { 'X-PAN-KEY': this.apiKey });
    if (status === 200) return text;
    const response = responseOf(text);
    throw response ? this.apiError(form, response, status) : this.httpError(status, text);
  }

  private apiError(form: ApiForm, response: Xml, status: number): Error {
    const code = String(response['@code'] ?? (status !== 200 ? status : '?'));
    // 403 is the XML API's "Forbidden" (PAN-OS XML API error codes: invalid key or insufficient rights).
    const refused = code === '403' || status === 403 ? ` with the credential ${this.credentialName}` : '';
    const said = this.said(response.msg ?? response.result) || 'error';
    return apiFailure(`PAN-OS ${form.type}${refused}: ${said} (code ${code})`, { code, httpStatus: status });
  }

  private httpError(status: number, text: string): Error {
    const body = this.said(text.slice(0, 200)).trim();
    return apiFailure(`PAN-OS answered HTTP ${status}${body ? `: ${body}` : ''}`, {
      code: String(status),
      httpStatus: status,
    });
  }

  private async keygen(credential: string): Promise<string> {
    const at = credential.indexOf(':');
    const { text } = await this.post({
      type: 'keygen',
      user: credential.slice(0, at),
      password: credential.slice(at + 1),
    });
    const response = responseOf(text);
    const key = response?.result?.key;
    // Masked the moment it exists, whatever else the answer says.
    if (key !== undefined && key !== null && key !== '') this.guard.derived(String(key));
    if (response?.['@status'] !== 'success' || !key)
      throw new Error(
        `PAN-OS keygen refused the credential ${this.credentialName}: ${this.said(response?.result ?? response?.msg) || 'error'}`,
      );
    return String(key);
  }

  private async post(
    form: ApiForm,
    extraHeaders: Record<string, string> = {},
    upload?: Upload,
  ): Promise<{ status: number; text: string }> {
    const { signal } = this.context;
    if (signal.aborted) throw signal.reason;
    const query = new URLSearchParams(form).toString();
    const payload = upload?.body ?? Buffer.from(query);
    const response = await httpsCall(
      {
        ...this.endpoint,
        method: 'POST',
        path: upload ? `/api/?${query}` : '/api/',
        headers: {
          'content-type': upload?.contentType ?? 'application/x-www-form-urlencoded',
          'content-length': String(payload.length),
          ...extraHeaders,
        },
        body: payload,
      },
      this.trust,
    );
    const text = response.body.toString('utf8');
    this.context.audit?.(text);
    return { status: response.status, text };
  }
}
