import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { createServer, type PeerCertificate, type Server } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../../src/model/types.ts';
import {
  httpsCall,
  managementApi,
  managementLogin,
  spkiSha256,
  trustInstalled,
  trustProblem,
} from '../../src/platforms/shared/https-client.ts';
import { pemCertificates } from '../../src/util/pem.ts';
import { TestCa } from '../helpers/test-ca.ts';

/**
 * How a driver reaches a management API: where (address, port, TLS name), whom it trusts, with which login, and
 * what httpsCall does with a slow, silent or well-behaved listener on 127.0.0.1.
 */

const device: Device = {
  system_name: 'fw1',
  common_name: 'fw1.example.com',
  host_platform: 'panos',
  os_version: '11.1',
  data_center: 'lab',
  certificate_authority: 'lab',
};

describe('managementApi', () => {
  it('defaults: the common name on 443, trust by the granted roots with validation on', () => {
    expect(managementApi({ device })).toEqual({
      host: 'fw1.example.com',
      port: 443,
      servername: 'fw1.example.com',
      trust: { spkiPins: [], roots: [], validate: true },
    });
  });

  it('the inventory address, port and pin, and validation off when the device says so', () => {
    const pinned: Device = {
      ...device,
      ip_address: '127.0.0.1',
      certificate_validation: false,
      connection: { port: 8443, tls_spki_sha256: 'PIN=' },
    };
    expect(managementApi({ device: pinned, trustedRoots: ['ROOT'] })).toEqual({
      host: '127.0.0.1',
      port: 8443,
      servername: 'fw1.example.com',
      trust: { spkiPins: ['PIN='], roots: ['ROOT'], validate: false },
    });
  });
});

describe('managementLogin', () => {
  const login = (credentials: string | undefined, value: string) =>
    managementLogin(
      {
        device: { ...device, ...(credentials ? { connection: { credentials } } : {}) },
        secret: (name) => (name === credentials ? value : 'wrong'),
      },
      'the PAN-OS login',
    );

  it('splits user:password at the first colon (the password may hold colons)', () => {
    expect(login('FW_LOGIN', 'admin:pa:ss:')).toEqual({
      name: 'FW_LOGIN',
      user: 'admin',
      password: 'pa:ss:',
    });
  });

  it('needs connection.credentials', () => {
    expect(() => login(undefined, '')).toThrow(
      new Error('connection.credentials must name the secret with user:password'),
    );
  });

  it.each(['admin', ':password'])('refuses %j, naming the secret and never its value', (value) => {
    let message = '';
    try {
      login('FW_LOGIN', value);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('the secret FW_LOGIN (the PAN-OS login) must hold user:password');
  });

  it('a one-letter user is a user', () => {
    expect(login('FW_LOGIN', 'a:b')).toEqual({ name: 'FW_LOGIN', user: 'a', password: 'b' });
  });
});

describe('httpsCall against listeners on 127.0.0.1', () => {
  let ca: TestCa;
  let key: string;
  let cert: string;
  let pin: string;
  beforeAll(async () => {
    ca = await TestCa.create();
    const issued = await ca.issue(['fw1.example.com']);
    key = issued.keyPem!;
    cert = issued.pem;
    pin = spkiSha256(new X509Certificate(pemCertificates(cert)[0]!));
  });
  const servers: (Server | TcpServer)[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  const listen = async (server: Server | TcpServer) => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  const call = (port: number, extra: Partial<Parameters<typeof httpsCall>[0]> = {}) =>
    httpsCall(
      {
        host: '127.0.0.1',
        port,
        servername: 'fw1.example.com',
        method: 'POST',
        path: '/api/',
        headers: { 'x-test': 'yes' },
        body: 'a=1',
        ...extra,
      },
      { spkiPins: [pin], roots: [], validate: false },
    );

  it('sends the request with the host header and returns status, headers and the whole body', async () => {
    let seen = '';
    const port = await listen(
      createServer({ key, cert }, (socket) => {
        socket.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          if (!seen.includes('\r\n\r\na=1')) return;
          socket.write('HTTP/1.1 201 Created\r\nx-answer: 42\r\ntransfer-encoding: chunked\r\n\r\n');
          socket.write('5\r\nhello\r\n');
          socket.end('6\r\n world\r\n0\r\n\r\n');
        });
      }),
    );
    const response = await call(port);
    expect(response.status).toBe(201);
    expect(response.headers['x-answer']).toBe('42');
    expect(response.body.toString()).toBe('hello world');
    expect(seen).toMatch(/^POST \/api\/ HTTP\/1\.1\r\n/);
    expect(seen).toContain(`host: fw1.example.com:${port}\r\n`);
    expect(seen).toContain('x-test: yes\r\n');
  });

  it('gives up on a listener that never completes the handshake', async () => {
    const port = await listen(createTcpServer((socket) => sockets.push(socket)));
    await expect(call(port, { timeoutMs: 300 })).rejects.toThrow(
      new Error(`no TLS handshake with 127.0.0.1:${port} within 300 ms`),
    );
  });

  it('gives up on a trusted listener that never answers the request', async () => {
    const port = await listen(createServer({ key, cert }, (socket) => sockets.push(socket)));
    await expect(call(port, { timeoutMs: 300 })).rejects.toThrow(
      new Error(`no answer from 127.0.0.1:${port} within 300 ms`),
    );
  });

  it('a listener that hangs up after the handshake is an error, not a hang', async () => {
    const port = await listen(
      createServer({ key, cert }, (socket) => {
        socket.on('data', () => socket.destroy());
      }),
    );
    await expect(call(port, { timeoutMs: 5000 })).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it('nothing listening is the connection error', async () => {
    const port = await listen(createTcpServer());
    await new Promise((r) => servers.pop()!.close(r));
    await expect(call(port)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('trustProblem: chains, roots and pins', () => {
  let ca: TestCa;
  let other: TestCa;
  let leaf: X509Certificate;
  let intermediate: X509Certificate;
  let root: X509Certificate;
  beforeAll(async () => {
    ca = await TestCa.create();
    other = await TestCa.create({ organisation: 'Other' });
    const chain = pemCertificates((await ca.issue(['fw1.example.com'])).pem).map(
      (p) => new X509Certificate(p),
    );
    [leaf, intermediate] = chain as [X509Certificate, X509Certificate];
    root = new X509Certificate(ca.rootPem);
  });
  /** The chain as a TLS socket hands it over: leaf first, each linked to its issuer. */
  const peer = (...chain: X509Certificate[]): PeerCertificate => {
    let linked: Record<string, unknown> | undefined;
    for (const c of [...chain].reverse())
      linked = { raw: c.raw, fingerprint256: c.fingerprint256, issuerCertificate: linked };
    return linked as unknown as PeerCertificate;
  };
  const roots = (...cas: TestCa[]) => ({ spkiPins: [], roots: cas.map((c) => c.rootPem), validate: true });

  it('a chain ending in one of several granted roots, or signed by one of them, is trusted', () => {
    expect(trustProblem(peer(leaf, intermediate, root), 'fw1.example.com', roots(other, ca))).toBeUndefined();
    expect(trustProblem(peer(leaf, intermediate), 'fw1.example.com', roots(other, ca))).toBeUndefined();
  });

  it('a chain to a root that is not granted is refused, saying so', () => {
    expect(trustProblem(peer(leaf, intermediate), 'fw1.example.com', roots(other))).toBe(
      `the management certificate (SPKI ${spkiSha256(leaf)}) is not trusted for fw1.example.com: its chain leads to no root the settings grant for management`,
    );
  });

  it('a chain with a certificate that did not sign the one before is refused, naming where it breaks', () => {
    const otherRoot = new X509Certificate(other.rootPem);
    expect(trustProblem(peer(leaf, otherRoot), 'fw1.example.com', roots(ca))).toBe(
      `the management certificate (SPKI ${spkiSha256(leaf)}) is not trusted for fw1.example.com: its chain is broken after CN=fw1.example.com`,
    );
    expect(trustProblem(peer(intermediate, otherRoot), 'fw1.example.com', roots(other))).toMatch(
      /its chain is broken after CN=Test E7, O=Let's Encrypt, C=US$/,
    );
  });

  it('no certificate at all is refused', () => {
    expect(trustProblem({} as PeerCertificate, 'fw1.example.com', roots(ca))).toBe(
      'no certificate presented',
    );
  });

  it('a pinned key is trusted without validation; an installed certificate is pinned once', () => {
    const trust = { spkiPins: [] as string[], roots: [], validate: false };
    expect(trustProblem(peer(leaf), 'fw1.example.com', trust)).toMatch(/certificate_validation is false/);
    trustInstalled(trust, leaf.toString());
    trustInstalled(trust, leaf.toString());
    expect(trust.spkiPins).toEqual([spkiSha256(leaf)]);
    expect(trustProblem(peer(leaf), 'any.example.org', trust)).toBeUndefined();
  });
});

describe('trustProblem: a granted certificate that is not a CA', () => {
  it('a device’s own self-signed certificate, granted as a root, is trusted when presented, and only then', () => {
    const make = (cn: string) =>
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          '/dev/null',
        ]
          .concat(['-subj', `/CN=${cn}`, '-days', '2', '-addext', 'basicConstraints=critical,CA:FALSE'])
          .concat(['-addext', `subjectAltName=DNS:${cn}`]),
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
    const own = new X509Certificate(make('fw1.example.com'));
    const another = new X509Certificate(make('fw1.example.com'));
    expect(own.ca).toBe(false);
    const peerOf = (c: X509Certificate) =>
      ({ raw: c.raw, fingerprint256: c.fingerprint256 }) as unknown as PeerCertificate;
    const trust = { spkiPins: [], roots: [another.toString(), own.toString()], validate: true };
    expect(trustProblem(peerOf(own), 'fw1.example.com', trust)).toBeUndefined();
    expect(trustProblem(peerOf(own), 'fw1.example.com', { ...trust, roots: [another.toString()] })).toMatch(
      /its chain leads to no root the settings grant for management$/,
    );
  });
});
