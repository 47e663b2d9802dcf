import { request as httpRequest } from 'node:http';
import { type AgentOptions, request as httpsRequest } from 'node:https';
import { ProxyConfigError } from './proxy.ts';
import { ProxyAwareHttpAgent, ProxyAwareHttpsAgent, type ProxyEnv, ProxyError } from './tunnel.ts';

/** A URL that could not be fetched: `cannot reach URL: CODE` (ECONNREFUSED, ENOTFOUND, timeout after N s…). */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
  constructor(
    readonly url: string,
    readonly code: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${url}: ${reason}`);
  }
}

export interface Answer {
  status: number;
  body: string;
}

const MAX_BODY = 1024 * 1024;
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|EPROTO|ERR_SSL/;

function why(error: NodeJS.ErrnoException): { code: string; why: string } {
  if (error instanceof ProxyError) return { code: error.code ?? 'EPROXY', why: error.message };
  const code = error.code ?? 'ERROR';
  if (code === 'ENOTFOUND') return { code, why: 'ENOTFOUND (the name does not resolve)' };
  if (code === 'EAI_AGAIN') return { code, why: 'EAI_AGAIN (no DNS answer: is a resolver reachable?)' };
  if (TLS_CODES.test(code))
    return {
      code,
      why: `${code}: its HTTPS certificate is not trusted (a private CA: trust its root with NODE_EXTRA_CA_CERTS)`,
    };
  return { code, why: code };
}

/**
 * RFC 6761 §6.4: names under `invalid.` never resolve, and "name resolution APIs and libraries SHOULD recognize
 * 'invalid' names as special and SHOULD always return immediately with a negative response".
 */
function isInvalidName(hostname: string): boolean {
  return /(^|\.)invalid\.?$/i.test(hostname);
}

/**
 * GETs `url` once, through the proxy the environment names for it, and gives the status and body — or throws an
 * UnreachableError within `timeoutMs` whatever hangs: the name lookup (even without a reachable resolver), the
 * connection, the proxy, the TLS handshake or the answer.
 */
export function getWithin(
  url: string,
  options: { timeoutMs: number; env?: ProxyEnv; tls?: AgentOptions; accept?: string },
): Promise<Answer> {
  const target = new URL(url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:')
    return Promise.reject(new UnreachableError(url, 'EPROTOCOL', 'not an http(s) URL'));
  if (isInvalidName(target.hostname))
    return Promise.reject(new UnreachableError(url, 'ENOTFOUND', 'ENOTFOUND (the name does not resolve)'));
  const env = options.env ?? process.env;
  const secure = target.protocol === 'https:';
  const agent = secure
    ? new ProxyAwareHttpsAgent({ ...options.tls, keepAlive: false }, env)
    : new ProxyAwareHttpAgent({ keepAlive: false }, env);
  const seconds = Math.round(options.timeoutMs / 100) / 10;
  return new Promise<Answer>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (error: Error | undefined, answer?: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      agent.destroy();
      if (error) reject(error);
      else resolve(answer!);
    };
    const failed = (error: NodeJS.ErrnoException) => {
      if (error instanceof ProxyConfigError) return settle(error);
      const { code, why: reason } = why(error);
      settle(new UnreachableError(url, code, reason));
    };
    const send = secure ? httpsRequest : httpRequest;
    let req: ReturnType<typeof httpRequest>;
    try {
      req = send(target, { agent, headers: { accept: options.accept ?? '*/*' } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY) chunks.push(chunk);
        });
        res.on('end', () =>
          settle(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', failed);
      });
    } catch (error) {
      return failed(error as NodeJS.ErrnoException); // a bad HTTPS_PROXY is found as the connection is made
    }
    timer = setTimeout(() => {
      settle(new UnreachableError(url, 'ETIMEDOUT', `timeout after ${seconds} s`));
      req.destroy();
    }, options.timeoutMs);
    req.on('error', failed);
    req.end();
  });
}
