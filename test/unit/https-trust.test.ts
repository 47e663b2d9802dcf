import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer, type PeerCertificate, type Server } from 'node:tls';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device, Route } from '../../src/model/types.ts';
import type { DriverContext, PlatformDriver } from '../../src/platforms/contract.ts';
import { f5Driver } from '../../src/platforms/f5/driver.ts';
import { lighthouseDriver } from '../../src/platforms/lighthouse/driver.ts';
import { panosDriver } from '../../src/platforms/panos/driver.ts';
import { platformInfo } from '../../src/platforms/registry.ts';
import {
  type HttpsTrust,
  httpsCall,
  spkiSha256,
  trustInstalled,
  trustProblem,
} from '../../src/platforms/shared/https-client.ts';

// The attacker's side of these tests: a CA that looks public (it would be in a bundle) but that no setting grants
// for management, leaves of a granted CA for the wrong host, a leaf posing as an issuer, and a listener with a key
// nobody pinned. Every byte such a listener receives is recorded: none may arrive.

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const HOST = 'fw-trust.example.com';
const DAY = 86_400_000;

interface Issued {
  cert: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
  pem: string;
  keyPem: string;
  node: X509Certificate;
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function pkcs8Pem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

async function finish(cert: x509.X509Certificate, keys: webcrypto.CryptoKeyPair): Promise<Issued> {
  const pem = `${cert.toString('pem').trim()}\n`;
  return { cert, keys, pem, keyPem: await pkcs8Pem(keys), node: new X509Certificate(pem) };
}

async function rootCa(name: string): Promise<Issued> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: `CN=${name}, O=${name}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return finish(cert, keys);
}

/** A certificate signed by `issuer`: an intermediate CA, a TLS leaf for `names`, or a leaf without key usage. */
async function issue(
  issuer: Issued,
  subject: string,
  kind: { ca: true } | { names: string[]; keyUsage?: boolean },
): Promise<Issued> {
  const keys = await keyPair();
  const extensions: x509.Extension[] =
    'ca' in kind
      ? [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        ]
      : [
          new x509.BasicConstraintsExtension(false, undefined, true),
          ...(kind.keyUsage === false
            ? []
            : [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)]),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension(
            kind.names.map((value) => ({ type: 'dns' as const, value })),
          ),
        ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    subject,
    issuer: issuer.cert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: ALGORITHM,
    extensions,
  });
  return finish(cert, keys);
}

/** The chain as Node's TLS socket hands it over (getPeerCertificate(true)): leaf first, issuers linked. */
function peer(...chain: Issued[]): PeerCertificate {
  let linked: Record<string, unknown> | undefined;
  for (const c of [...chain].reverse())
    linked = { raw: c.node.raw, fingerprint256: c.node.fingerprint256, issuerCertificate: linked };
  return linked as unknown as PeerCertificate;
}

const validating = (roots: string[]): HttpsTrust => ({ spkiPins: [], roots, validate: true });

/** A raw TLS listener on 127.0.0.1 that records every byte it receives and answers each request with a 500. */
async function recordingListener(key: string, cert: string) {
  const received: Buffer[] = [];
  const server: Server = createServer({ key, cert }, (socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(buffered.subarray(0, end).toString())?.[1] ?? 0);
      if (buffered.length - end - 4 < length) return;
      socket.end('HTTP/1.1 500 Recorded\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    text: () => Buffer.concat(received).toString('latin1'),
    bytes: () => received.reduce((n, b) => n + b.length, 0),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let publicLooking: Issued; // not granted for management: in a bundle, say
let granted: Issued; // a root the settings grant for management
let intermediate: Issued;
let leaf: Issued; // for HOST, via the intermediate of the granted root
let otherHost: Issued; // for another host, same granted chain
let attackerLeaf: Issued; // for HOST, from the public-looking CA

beforeAll(async () => {
  publicLooking = await rootCa('Public Looking Root R1');
  granted = await rootCa('Granted Management Root');
  intermediate = await issue(granted, 'CN=Granted Issuing CA', { ca: true });
  leaf = await issue(intermediate, `CN=${HOST}`, { names: [HOST] });
  otherHost = await issue(intermediate, 'CN=attacker.example.net', { names: ['attacker.example.net'] });
  attackerLeaf = await issue(publicLooking, `CN=${HOST}`, { names: [HOST] });
});

describe('trustProblem: management trust is the pin or the granted roots, nothing else', () => {
  it('trusts a chain that leads by signature to a granted root and names the host (the control)', () => {
    expect(trustProblem(peer(leaf, intermediate), HOST, validating([granted.pem]))).toBeUndefined();
    // The granted root presented at the end of the chain changes nothing.
    expect(trustProblem(peer(leaf, intermediate, granted), HOST, validating([granted.pem]))).toBeUndefined();
  });

  it('refuses a chain to a public-looking CA that is not granted, even when it is handed over as a public root', () => {
    // The control: the attacker's chain is sound, granting its CA would make it trusted.
    expect(trustProblem(peer(attackerLeaf, publicLooking), HOST, validating([publicLooking.pem]))).toBe(
      undefined,
    );
    for (const roots of [[], [granted.pem]]) {
      expect(trustProblem(peer(attackerLeaf, publicLooking), HOST, validating(roots))).toMatch(
        /is not trusted for fw-trust\.example\.com/,
      );
      // What drivers used to pass as `publicRoots` (Node's rootCertificates) is no longer consulted at all.
      const asBefore = trustProblem as (...args: unknown[]) => string | undefined;
      expect(
        asBefore(peer(attackerLeaf, publicLooking), HOST, validating(roots), [publicLooking.pem]),
      ).toMatch(/not trusted/);
    }
    expect(trustProblem).toHaveLength(3);
  });

  it('refuses a leaf of a granted root that names another host', () => {
    expect(trustProblem(peer(otherHost, intermediate), HOST, validating([granted.pem]))).toMatch(
      /does not name fw-trust\.example\.com/,
    );
  });

  it('refuses a leaf of a granted root posing as the issuer of a certificate for the host', async () => {
    // No key usage extension, so only the CA flag tells it is not an issuer.
    const plainLeaf = await issue(intermediate, 'CN=plain.example.com', {
      names: ['plain.example.com'],
      keyUsage: false,
    });
    const forged = await issue(plainLeaf, `CN=${HOST}`, { names: [HOST] });
    expect(forged.node.verify(plainLeaf.node.publicKey)).toBe(true);
    expect(trustProblem(peer(forged, plainLeaf, intermediate), HOST, validating([granted.pem]))).toMatch(
      /chain is broken after CN=fw-trust\.example\.com/,
    );
  });

  it('refuses a presented chain whose links do not verify by signature', async () => {
    const impostor = await rootCa('Granted Management Root'); // same name, another key
    const forged = await issue(impostor, `CN=${HOST}`, { names: [HOST] });
    expect(trustProblem(peer(forged, impostor), HOST, validating([granted.pem]))).toMatch(/not trusted/);
  });

  it('with certificate_validation false, only the pinned key is trusted', () => {
    const noValidation = (spkiPins: string[]): HttpsTrust => ({
      spkiPins,
      roots: [granted.pem],
      validate: false,
    });
    expect(trustProblem(peer(leaf, intermediate), HOST, noValidation([]))).toMatch(
      /certificate_validation is false, so only the pinned key/,
    );
    expect(
      trustProblem(peer(leaf, intermediate), HOST, noValidation([spkiSha256(leaf.node)])),
    ).toBeUndefined();
    // The pin names the key, nothing else: whatever certificate carries it.
    expect(trustProblem(peer(otherHost), HOST, noValidation([spkiSha256(otherHost.node)]))).toBeUndefined();
  });

  it('without a pin or a granted root nothing is trusted, and a key the session installed is trusted after it', () => {
    const trust = validating([]);
    expect(trustProblem(peer(leaf, intermediate), HOST, trust)).toMatch(
      /not pinned and no root is granted for management/,
    );
    trustInstalled(trust, leaf.pem);
    expect(trustProblem(peer(leaf, intermediate), HOST, trust)).toBeUndefined();
    expect(trustProblem(peer(attackerLeaf, publicLooking), HOST, trust)).toMatch(/not trusted/);
  });

  it('no driver passes Node’s public roots any more', () => {
    const folder = fileURLToPath(new URL('../../src/platforms/', import.meta.url));
    const sources = readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    expect(sources).toContain('shared/https-client.ts');
    for (const file of sources)
      expect(readFileSync(join(folder, file), 'utf8'), file).not.toMatch(/rootCertificates|publicRoots/);
  });
});

describe('httpsCall: an untrusted management interface gets no request byte', () => {
  const request = { host: '127.0.0.1', servername: HOST, method: 'GET', path: '/api/?type=op' };

  it('sends nothing to a listener whose chain leads to a CA that is not granted, or that names another host', async () => {
    for (const served of [
      { key: attackerLeaf.keyPem, cert: `${attackerLeaf.pem}${publicLooking.pem}` },
      { key: otherHost.keyPem, cert: `${otherHost.pem}${intermediate.pem}` },
    ]) {
      const listener = await recordingListener(served.key, served.cert);
      try {
        await expect(
          httpsCall(
            { ...request, port: listener.port, headers: { 'X-PAN-KEY': 'canary-key-5d1e' } },
            validating([granted.pem]),
          ),
        ).rejects.toThrow(/not trusted for fw-trust\.example\.com/);
        await new Promise((r) => setTimeout(r, 50));
        expect(listener.bytes()).toBe(0);
      } finally {
        await listener.close();
      }
    }
  });

  it('the control: a trusted listener receives the request, so the recorder sees what is sent', async () => {
    const listener = await recordingListener(leaf.keyPem, `${leaf.pem}${intermediate.pem}`);
    try {
      const answer = await httpsCall(
        { ...request, port: listener.port, headers: { 'X-PAN-KEY': 'canary-key-5d1e' } },
        validating([granted.pem]),
      );
      expect(answer.status).toBe(500);
      expect(listener.text()).toContain('canary-key-5d1e');
    } finally {
      await listener.close();
    }
  });
});

describe('drivers against a listener whose key is not the pinned one', () => {
  const CANARY = 'canary-user-7f3a:canary-pass-9b2c';
  const API_KEY = `LUFRPT${'c4n4ry'.repeat(8)}`;
  let listener: Awaited<ReturnType<typeof recordingListener>>;
  let pinned: Issued; // the key the device file pins: not the listener's

  beforeAll(async () => {
    listener = await recordingListener(attackerLeaf.keyPem, `${attackerLeaf.pem}${publicLooking.pem}`);
    pinned = await issue(publicLooking, `CN=${HOST}`, { names: [HOST] });
  });
  afterAll(async () => {
    await listener?.close();
  });

  const cases: { driver: PlatformDriver; platform: string; credential: string; leaks: RegExp }[] = [
    { driver: panosDriver, platform: 'panos', credential: CANARY, leaks: /keygen|canary/ },
    { driver: panosDriver, platform: 'panos', credential: API_KEY, leaks: /X-PAN-KEY|c4n4ry/i },
    { driver: f5Driver, platform: 'f5', credential: CANARY, leaks: /authn\/login|canary/ },
    { driver: lighthouseDriver, platform: 'lighthouse', credential: CANARY, leaks: /sessions|canary/ },
  ];

  async function attempt(driver: PlatformDriver, platform: string, credential: string, pin: string) {
    const device: Device = {
      system_name: 'fw-trust',
      common_name: HOST,
      host_platform: platform,
      os_version: '1',
      data_center: 'lab',
      ip_address: '127.0.0.1',
      certificate_authority: 'lab',
      certificate_validation: false,
      connection: { port: listener.port, credentials: 'CANARY_LOGIN', tls_spki_sha256: pin },
    };
    const route: Route = { name: platform, match: { host_platform: platform }, platform };
    const context: DriverContext = {
      device,
      route,
      options: platformInfo(platform)!.options.parse(undefined),
      secret: () => credential,
      log: () => {},
      signal: new AbortController().signal,
      trustedRoots: [publicLooking.pem],
    };
    const session = await driver.connect(context);
    try {
      await session.precheck();
    } finally {
      await session.close().catch(() => {});
    }
  }

  it('refuses the connection before the login, the key or the API key is sent', async () => {
    for (const { driver, platform, credential } of cases) {
      const error = await attempt(driver, platform, credential, spkiSha256(pinned.node)).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message, `${platform}`).toMatch(/not trusted for fw-trust\.example\.com/);
      expect(error?.message).not.toMatch(/canary|c4n4ry/);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(listener.bytes()).toBe(0);
  });

  it('the control: with the listener’s own key pinned, the same drivers do send (the recorder would see a leak)', async () => {
    for (const { driver, platform, credential, leaks } of cases) {
      const before = listener.bytes();
      await attempt(driver, platform, credential, spkiSha256(attackerLeaf.node)).catch(() => {});
      const sent = listener.text().slice(before);
      expect(sent.length, platform).toBeGreaterThan(0);
      expect(sent).toMatch(leaks);
    }
  });
});
