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

const responseOf = (text: string) => (parser.parse(text) as { response?: Xml }).response;

/** A credential that is `user:password` (logged in with keygen) rather than an API key. */
const isUserPassword = (credential: string) => credential.includes(':') && !/^LUFRPT/.test(credential);

/**
 * The PAN-OS XML API of one firewall: every request a POST to /api/, the API key in the X-PAN-KEY header (never
 * in a URL), every answer audited and checked for `status="error"` (PAN-OS answers errors with HTTP 200).
 * Whatever the firewall says reaches a message only through the credential guard.
 */
export class PanosClient {
  private apiKey = '';

  private constructor(
    private readonly context: DriverContext<unknown>,
    private readonly guard: CredentialGuard,
    private readonly credentialName: string,
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
    client.apiKey = isUserPassword(credential) ? await client.keygen(credential) : credential;
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

  /** An API request; its <response> when the status is success, else an error with the vendor's code and msg. */
  async request(form: ApiForm, upload?: Upload): Promise<Xml> {
    const text = await this.post(form, { 'X-PAN-KEY': this.apiKey }, upload);
    const response = responseOf(text);
    if (!response)
      throw new Error(
        `PAN-OS answered something that is not an API response: ${this.said(text.slice(0, 200))}`,
      );
    if (response['@status'] !== 'success') {
      const code = String(response['@code'] ?? '?');
      // 403 is the XML API's "Forbidden" (PAN-OS XML API error codes: invalid key or insufficient rights).
      const refused = code === '403' ? ` with the credential ${this.credentialName}` : '';
      throw new Error(
        `PAN-OS ${form.type}${refused}: ${this.said(response.msg ?? response.result) || 'error'} (code ${code})`,
      );
    }
    return response;
  }

  /** An API request whose answer is a file (`type=export`), returned as text unchecked. */
  download(form: ApiForm): Promise<string> {
    return this.post(form, { 'X-PAN-KEY': this.apiKey });
  }

  private async keygen(credential: string): Promise<string> {
    const at = credential.indexOf(':');
    const text = await this.post({
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

  private async post(form: ApiForm, extraHeaders: Record<string, string> = {}, upload?: Upload) {
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
    if (response.status !== 200) throw new Error(`PAN-OS answered HTTP ${response.status}`);
    return text;
  }
}
