import { type ClientRequestArgs, Agent as HttpAgent, type AgentOptions as HttpAgentOptions } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions, type RequestOptions } from 'node:https';
import { isIPv6, connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { describeProxy, proxyAuthorization, proxyFor } from './proxy.ts';

export class ProxyError extends Error {
  override name = 'ProxyError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const MAX_RESPONSE_HEAD = 16 * 1024;

/**
 * A TCP tunnel to `host:port` through an HTTP proxy: the CONNECT method of RFC 9110 §9.3.6 ("CONNECT
 * server.example.com:80 HTTP/1.1" with a Host header of the same authority; any 2xx answer turns the connection
 * into a tunnel, anything else is the proxy refusing). Proxy credentials travel in Proxy-Authorization only and
 * never appear in an error.
 */
export function openTunnel(proxy: URL, host: string, port: number, timeoutMs = 30_000): Promise<Socket> {
  const authority = `${isIPv6(host) ? `[${host}]` : host}:${port}`;
  const where = describeProxy(proxy);
  return new Promise((resolve, reject) => {
    const socket = netConnect({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(proxy.port || 80),
    });
    let head = Buffer.alloc(0);
    const fail = (error: ProxyError) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(
        new ProxyError(
          `the proxy ${where} did not open a tunnel to ${authority} within ${timeoutMs / 1000} s`,
          'ETIMEDOUT',
        ),
      ),
    );
    socket.once('error', (error: NodeJS.ErrnoException) =>
      fail(new ProxyError(`cannot reach the proxy ${where}: ${error.code ?? error.message}`, error.code)),
    );
    socket.once('connect', () => {
      const auth = proxyAuthorization(proxy);
      socket.write(
        `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`,
      );
    });
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_RESPONSE_HEAD)
          fail(new ProxyError(`the proxy ${where} sent an oversized answer`));
        return;
      }
      socket.off('data', onData);
      const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
      if (!status) return fail(new ProxyError(`the proxy ${where} answered CONNECT with no HTTP status`));
      if (!status[1]!.startsWith('2'))
        return fail(
          new ProxyError(
            `the proxy ${where} refused a tunnel to ${authority}: HTTP ${status[1]}${status[2] ? ` ${status[2]}` : ''}${
              status[1] === '407' || status[1] === '401'
                ? ' (check the user and password in the proxy URL, e.g. http://user:password@host:port)'
                : ''
            }`,
            `HTTP_${status[1]}`,
          ),
        );
      const rest = head.subarray(end + 4);
      socket.setTimeout(0);
      socket.removeAllListeners('timeout');
      socket.removeAllListeners('error');
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

/** The environment to read, or a function giving it at each connection (a client whose environment changes). */
export type ProxyEnv = NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv);

type Callback = (error: Error | null, stream: Duplex) => void;

function targetOf(
  options: ClientRequestArgs,
  scheme: 'http' | 'https',
): { host: string; port: number; url: URL } {
  const host = (options.host ?? options.hostname ?? 'localhost').replace(/^\[|\]$/g, '');
  const port = Number(options.port || (scheme === 'https' ? 443 : 80));
  return { host, port, url: new URL(`${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`) };
}

/**
 * An https.Agent that opens each connection through the proxy the environment names for its host (CONNECT, then
 * TLS with every option of the request and the agent: `ca`, `servername`, `checkServerIdentity`…), or directly when
 * there is none or NO_PROXY exempts the host. The environment is read at each new connection.
 */
export class ProxyAwareHttpsAgent extends HttpsAgent {
  constructor(
    options: HttpsAgentOptions = {},
    private readonly env: ProxyEnv = process.env,
  ) {
    super(options);
  }

  override createConnection(options: RequestOptions, callback?: Callback): Duplex | null | undefined {
    const { host, port, url } = targetOf(options, 'https');
    const proxy = proxyFor(url, typeof this.env === 'function' ? this.env() : this.env);
    if (!proxy || !callback) return super.createConnection(options, callback);
    openTunnel(proxy, host, port, options.timeout ?? 30_000).then(
      (tunnel) => callback(null, tlsConnect({ ...(options as ConnectionOptions), socket: tunnel })),
      (error: Error) => callback(error, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/** The http.Agent counterpart of ProxyAwareHttpsAgent: plain-HTTP targets are tunnelled with CONNECT too. */
export class ProxyAwareHttpAgent extends HttpAgent {
  constructor(
    options: HttpAgentOptions = {},
    private readonly env: ProxyEnv = process.env,
  ) {
    super(options);
  }

  override createConnection(options: ClientRequestArgs, callback?: Callback): Duplex | null | undefined {
    const { host, port, url } = targetOf(options, 'http');
    const proxy = proxyFor(url, typeof this.env === 'function' ? this.env() : this.env);
    if (!proxy || !callback) return super.createConnection(options, callback);
    openTunnel(proxy, host, port, options.timeout ?? 30_000).then(
      (tunnel) => callback(null, tunnel),
      (error: Error) => callback(error, undefined as unknown as Duplex),
    );
    return undefined;
  }
}
