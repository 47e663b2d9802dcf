import { execFileSync } from 'node:child_process';
import { webcrypto, X509Certificate } from 'node:crypto';
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import * as x509 from '@peculiar/x509';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pemCertificates } from '../../src/util/pem.ts';
import {
  chainProblems,
  coversName,
  type Expected,
  fetchServedChain,
  servedChainProblems,
} from '../../src/verify/tls.ts';
import { selfSignedPem, strayKeys, TestCa } from '../helpers/test-ca.ts';

const DAY = 86_400_000;
const NAMES = ['fw.example.com', 'www.fw.example.com'];

let ca: TestCa;
let otherCa: TestCa;
beforeAll(async () => {
  ca = await TestCa.create();
  otherCa = await TestCa.create(); // same names and organisation, other keys: not the authority's
});

const certs = (pem: string) => pemCertificates(pem).map((p) => new X509Certificate(p));
const spkiOf = (cert: X509Certificate) =>
  new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' }));

/** What rotateDevice expects of the served chain when `leaf` is exactly what was issued for the CSR. */
function expectedFor(leaf: X509Certificate, overrides: Partial<Expected> = {}): Expected {
  return {
    serial: leaf.serialNumber.toLowerCase(),
    spki: spkiOf(leaf),
    names: NAMES,
    rootsPem: [ca.rootPem],
    notBefore: new Date(leaf.validFrom).toISOString(),
    notAfter: new Date(leaf.validTo).toISOString(),
    ...overrides,
  };
}

/** A served chain and the expectation it meets, to be broken in one respect by each test. */
async function issued(options: Parameters<TestCa['issue']>[1] = {}, names = NAMES, by = ca) {
  const chain = certs((await by.issue(names, options)).pem);
  return { chain, expected: expectedFor(chain[0]!) };
}

describe('servedChainProblems: the device serves exactly what was issued', () => {
  it('accepts the issued leaf with its intermediate, with or without the root appended', async () => {
    const { chain, expected } = await issued();
    expect(servedChainProblems(chain, expected)).toEqual([]);
    expect(servedChainProblems([...chain, new X509Certificate(ca.rootPem)], expected)).toEqual([]);
    expect(servedChainProblems(chain, { ...expected, expectedIssuers: ["Let's Encrypt"] })).toEqual([]);
  });

  it('refuses a device that presents no certificate', () => {
    expect(servedChainProblems([], { ...expectedFor(new X509Certificate(ca.rootPem)) })).toEqual([
      'the device presented no certificate',
    ]);
  });

  it('refuses another serial (the old certificate still served)', async () => {
    const { chain, expected } = await issued();
    const old = await issued();
    expect(servedChainProblems(old.chain, expected)).toContain(
      `the device serves serial ${old.chain[0]!.serialNumber.toLowerCase()}, not the issued ${expected.serial}`,
    );
    // Serials compare as numbers: case, colons and leading zeros do not matter.
    const spelled = `00:${expected.serial.toUpperCase().match(/../g)!.join(':')}`;
    expect(servedChainProblems(chain, { ...expected, serial: spelled })).toEqual([]);
  });

  it('a served leaf with the right serial but another key is refused', async () => {
    const { chain, expected } = await issued();
    const csrKey = await strayKeys(); // the key of the device's CSR: not the one the served leaf carries
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', csrKey.publicKey));
    expect(servedChainProblems(chain, { ...expected, spki })).toEqual([
      "the served certificate does not carry the key from the device's CSR",
    ]);
  });

  it('refuses a leaf that does not cover every name, wildcards included', async () => {
    const { chain, expected } = await issued({}, ['fw.example.com']);
    expect(servedChainProblems(chain, { ...expected, names: ['fw.example.com'] })).toEqual([]);
    expect(servedChainProblems(chain, expected)).toEqual([
      'the served certificate does not cover www.fw.example.com',
    ]);
    const wildcard = await issued({}, ['*.example.com']);
    expect(servedChainProblems(wildcard.chain, { ...wildcard.expected, names: ['*.example.com'] })).toEqual(
      [],
    );
    expect(servedChainProblems(chain, { ...expected, names: ['*.example.com'] })).toEqual([
      'the served certificate does not cover *.example.com',
    ]);
  });

  it('refuses an expired leaf, even one matching the issued validity and chaining to the root', async () => {
    const { chain, expected } = await issued({ notBefore: new Date(Date.now() - 100 * DAY), days: 90 });
    expect(servedChainProblems(chain, expected)).toEqual([
      `the served certificate expired at ${chain[0]!.validTo}`,
    ]);
  });

  it('refuses a leaf not valid yet (beyond a minute of clock skew)', async () => {
    const { chain, expected } = await issued({ notBefore: new Date(Date.now() + DAY) });
    expect(servedChainProblems(chain, expected)).toEqual([
      `the served certificate is not valid before ${chain[0]!.validFrom}`,
    ]);
    const soon = await issued({ notBefore: new Date(Date.now() + 30_000) });
    expect(servedChainProblems(soon.chain, soon.expected)).toEqual([]);
  });

  it("refuses a lifetime other than the issued one (the authority's bounds)", async () => {
    const { chain, expected } = await issued();
    const longer = new Date(Date.parse(expected.notAfter) + DAY).toISOString();
    const earlier = new Date(Date.parse(expected.notBefore) - DAY).toISOString();
    const message = "the served certificate's validity differs from the issued one";
    expect(servedChainProblems(chain, { ...expected, notAfter: longer })).toEqual([message]);
    expect(servedChainProblems(chain, { ...expected, notBefore: earlier })).toEqual([message]);
  });

  it('refuses an issuer organisation the authority does not list', async () => {
    const { chain, expected } = await issued();
    expect(servedChainProblems(chain, { ...expected, expectedIssuers: ['Nobody Inc'] })).toEqual([
      "the issuer organisation Let's Encrypt is not one of Nobody Inc",
    ]);
  });

  it('judges validity at `now` when given', async () => {
    const { chain, expected } = await issued();
    const later = new Date(Date.parse(expected.notAfter) + 1000);
    expect(servedChainProblems(chain, { ...expected, now: later })).toEqual([
      `the served certificate expired at ${chain[0]!.validTo}`,
    ]);
  });
});

describe('servedChainProblems / chainProblems: the chain leads to a root of the authority', () => {
  const NO_ROOT = 'the served chain does not lead to a root of the authority (is the intermediate missing?)';

  it('a chain to a CA outside the roots is refused', async () => {
    // Everything else matches: serial, key, names, validity, even the issuer organisation.
    const { chain, expected } = await issued({}, NAMES, otherCa);
    expect(servedChainProblems(chain, { ...expected, expectedIssuers: ["Let's Encrypt"] })).toEqual([
      NO_ROOT,
    ]);
    expect(servedChainProblems([...chain, new X509Certificate(otherCa.rootPem)], expected)).toEqual([
      NO_ROOT,
    ]);
    expect(chainProblems(chain, [new X509Certificate(ca.rootPem)])).toEqual([NO_ROOT]);
    // Under its own root the same chain is fine: it is the roots that decide.
    expect(chainProblems(chain, [new X509Certificate(otherCa.rootPem)])).toEqual([]);
  });

  it('refuses a self-signed leaf, and a leaf served without its intermediate', async () => {
    const self = certs(await selfSignedPem(NAMES));
    expect(servedChainProblems(self, expectedFor(self[0]!))).toEqual([NO_ROOT]);
    const { chain, expected } = await issued();
    expect(servedChainProblems(chain.slice(0, 1), expected)).toEqual([NO_ROOT]);
    expect(chainProblems([], [new X509Certificate(ca.rootPem)])).toEqual([NO_ROOT]);
  });

  it('refuses a chain whose next certificate did not issue the previous one', async () => {
    const { chain, expected } = await issued();
    const foreign = certs((await otherCa.issue(NAMES)).pem)[1]!; // another CA's intermediate, same name
    expect(servedChainProblems([chain[0]!, foreign], expected)).toEqual([
      `the served chain is broken after ${chain[0]!.subject}`,
    ]);
  });

  it('an issuer with the right name but another key is refused', async () => {
    const roots = [new X509Certificate(ca.rootPem)];
    // A leaf naming the real intermediate (subject and authority key id) but signed by a stray key.
    const { chain, expected } = await issued({ signingKeys: await strayKeys() });
    expect(chain[0]!.checkIssued(chain[1]!)).toBe(true); // by name it is the intermediate's
    expect(servedChainProblems(chain, expected)).toEqual([
      `the served chain is broken after ${chain[0]!.subject}`,
    ]);
    // An intermediate naming the root but not signed by it, issuing a correctly signed leaf.
    const forged = await ca.intermediateCa({ name: 'Test E7', signingKeys: await strayKeys() });
    const under = await issued({ signer: forged, intermediates: [forged.cert] });
    expect(under.chain[1]!.checkIssued(roots[0]!)).toBe(true);
    expect(servedChainProblems(under.chain, under.expected)).toEqual([NO_ROOT]);
    // A leaf naming the root directly, signed by a stray key.
    const direct = await issued({ signer: ca.root, signingKeys: await strayKeys(), intermediates: [] });
    expect(direct.chain[0]!.checkIssued(roots[0]!)).toBe(true);
    expect(servedChainProblems(direct.chain, direct.expected)).toEqual([NO_ROOT]);
    // The same shapes, honestly signed, pass: only the signature is wrong above.
    const honest = await ca.intermediateCa({ name: 'Test E7' });
    const fine = await issued({ signer: honest, intermediates: [honest.cert] });
    expect(servedChainProblems(fine.chain, fine.expected)).toEqual([]);
    const rootLeaf = await issued({ signer: ca.root, intermediates: [] });
    expect(servedChainProblems(rootLeaf.chain, rootLeaf.expected)).toEqual([]);
  });

  it('an expired intermediate is refused, and one not valid yet', async () => {
    const now = Date.now();
    const expired = await ca.intermediateCa({
      notBefore: new Date(now - 400 * DAY),
      notAfter: new Date(now - DAY),
    });
    // The leaf itself is valid and correctly signed by the expired intermediate, which the root signed.
    const { chain, expected } = await issued({ signer: expired, intermediates: [expired.cert] });
    const subject = chain[1]!.subject.replace(/\n/g, ', ');
    const notValid = `the intermediate ${subject} is not valid now (valid from ${chain[1]!.validFrom} to ${chain[1]!.validTo})`;
    expect(servedChainProblems(chain, expected)).toEqual([notValid]);
    expect(chainProblems(chain, [new X509Certificate(ca.rootPem)])).toEqual([notValid]);

    const future = await ca.intermediateCa({ notBefore: new Date(now + DAY) });
    const early = await issued({ signer: future, intermediates: [future.cert] });
    expect(servedChainProblems(early.chain, early.expected)).toEqual([
      expect.stringMatching(/^the intermediate CN=Test E8, .* is not valid now/),
    ]);
    // chainProblems judges at the `now` it is given: the expired intermediate was fine back then.
    expect(chainProblems(chain, [new X509Certificate(ca.rootPem)], new Date(now - 2 * DAY))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Certificates with a chosen serial and issuer name (TestCa picks both itself), issued straight by their own root.

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function ownRootAndLeaf(options: { rootName: string; serial: string; names?: string[] }) {
  const generate = async () =>
    (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const rootKeys = await generate();
  const now = Date.now();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: options.rootName,
    notBefore: new Date(now - 2 * DAY),
    notAfter: new Date(now + 3650 * DAY),
    keys: rootKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const leafKeys = await generate();
  const names = options.names ?? NAMES;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: options.serial,
    subject: `CN=${names[0]}`,
    issuer: root.subject,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 90 * DAY),
    publicKey: leafKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const rootPem = `${root.toString('pem')}\n`;
  const chain = [new X509Certificate(leaf.toString('pem'))];
  return { chain, rootPem, expected: expectedFor(chain[0]!, { rootsPem: [rootPem] }) };
}

describe('servedChainProblems: serials compare as the same number, and only then', () => {
  it('accepts the serial spelled in upper case, with colons and leading zeros', async () => {
    const { chain, expected } = await ownRootAndLeaf({ rootName: 'CN=Own Root', serial: '7100ab' });
    expect(chain[0]!.serialNumber).toBe('7100AB');
    for (const serial of ['7100ab', '7100AB', '71:00:AB', '00:71:00:AB', '0007100ab'])
      expect(servedChainProblems(chain, { ...expected, serial })).toEqual([]);
  });

  it('accepts a served serial with a leading zero byte against the issued one without it', async () => {
    const { chain, expected } = await issued();
    const served = chain[0]!.serialNumber;
    expect(served).toMatch(/^0/); // TestCa serials have an odd number of hex digits: DER pads a zero byte
    expect(servedChainProblems(chain, { ...expected, serial: served.replace(/^0+/, '') })).toEqual([]);
  });

  it('refuses a serial that differs only by an inner zero', async () => {
    const { chain, expected } = await ownRootAndLeaf({ rootName: 'CN=Own Root', serial: '7100ab' });
    for (const serial of ['71ab', '710ab', '71000ab', '7100ab00'])
      expect(servedChainProblems(chain, { ...expected, serial })).toEqual([
        `the device serves serial 7100ab, not the issued ${serial}`,
      ]);
  });

  it('refuses a serial spelled with characters that are not hex digits', async () => {
    // U+FB00 (the "ff" ligature) upper-cases to "FF": the comparison folds case downwards, so it stays unequal.
    const { chain, expected } = await ownRootAndLeaf({ rootName: 'CN=Own Root', serial: '7100ff' });
    expect(servedChainProblems(chain, { ...expected, serial: '7100ff' })).toEqual([]);
    expect(servedChainProblems(chain, { ...expected, serial: '7100\uFB00' })).toEqual([
      'the device serves serial 7100ff, not the issued 7100\uFB00',
    ]);
  });
});

describe('servedChainProblems: names, validity bounds and issuer, at their edges', () => {
  it('checks a wildcard by a host under it, so a wildcard no client honours is refused', async () => {
    // "*.com" matches itself as a string, but OpenSSL (like browsers) honours no wildcard directly under a TLD.
    const { chain, expected } = await issued({}, ['*.com']);
    expect(chain[0]!.checkHost('*.com')).toBe('*.com');
    expect(servedChainProblems(chain, { ...expected, names: ['*.com'] })).toEqual([
      'the served certificate does not cover *.com',
    ]);
    const wildcard = await issued({}, ['*.fw.example.com']);
    expect(
      servedChainProblems(wildcard.chain, { ...wildcard.expected, names: ['*.fw.example.com'] }),
    ).toEqual([]);
  });

  it('a leaf for the one host the wildcard check probes does not cover the wildcard', async () => {
    const { chain, expected } = await issued({}, ['ottr-check.example.com', 'fw.example.com']);
    expect(servedChainProblems(chain, { ...expected, names: ['*.example.com', 'fw.example.com'] })).toEqual([
      'the served certificate does not cover *.example.com',
    ]);
    const wildcard = await issued({}, ['fw.example.com', '*.Example.com']);
    expect(
      servedChainProblems(wildcard.chain, {
        ...wildcard.expected,
        names: ['fw.example.com', '*.example.com'],
      }),
    ).toEqual([]);
  });

  it('accepts a leaf starting exactly a minute after `now`, not a second later', async () => {
    const { chain, expected } = await issued();
    const from = Date.parse(chain[0]!.validFrom);
    expect(servedChainProblems(chain, { ...expected, now: new Date(from - 60_000) })).toEqual([]);
    expect(servedChainProblems(chain, { ...expected, now: new Date(from - 61_000) })).toEqual([
      `the served certificate is not valid before ${chain[0]!.validFrom}`,
    ]);
  });

  it('counts a leaf as expired from the instant of its notAfter', async () => {
    const { chain, expected } = await issued();
    const to = Date.parse(chain[0]!.validTo);
    expect(servedChainProblems(chain, { ...expected, now: new Date(to - 1) })).toEqual([]);
    expect(servedChainProblems(chain, { ...expected, now: new Date(to) })).toEqual([
      `the served certificate expired at ${chain[0]!.validTo}`,
    ]);
  });

  it('tolerates a second of difference from the issued validity, not more', async () => {
    const { chain, expected } = await issued();
    const message = "the served certificate's validity differs from the issued one";
    const shift = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
    for (const ms of [-1000, 1000]) {
      expect(servedChainProblems(chain, { ...expected, notAfter: shift(expected.notAfter, ms) })).toEqual([]);
      expect(servedChainProblems(chain, { ...expected, notBefore: shift(expected.notBefore, ms) })).toEqual(
        [],
      );
    }
    for (const ms of [-1001, 1001]) {
      expect(servedChainProblems(chain, { ...expected, notAfter: shift(expected.notAfter, ms) })).toEqual([
        message,
      ]);
      expect(servedChainProblems(chain, { ...expected, notBefore: shift(expected.notBefore, ms) })).toEqual([
        message,
      ]);
    }
  });

  it('reads the issuer organisation when it is the first attribute of the issuer name', async () => {
    const { chain, expected } = await ownRootAndLeaf({
      rootName: 'O=Acme Trust,CN=Acme Root',
      serial: '7a01',
    });
    expect(chain[0]!.issuer).toBe('O=Acme Trust\nCN=Acme Root');
    expect(servedChainProblems(chain, { ...expected, expectedIssuers: ['Acme Trust'] })).toEqual([]);
    expect(servedChainProblems(chain, { ...expected, expectedIssuers: ['Acme'] })).toEqual([
      'the issuer organisation Acme Trust is not one of Acme',
    ]);
  });

  it('refuses an issuer without an organisation, naming every accepted one', async () => {
    const { chain, expected } = await ownRootAndLeaf({ rootName: 'CN=Plain Root', serial: '7a02' });
    expect(servedChainProblems(chain, expected)).toEqual([]);
    expect(
      servedChainProblems(chain, { ...expected, expectedIssuers: ["Let's Encrypt", 'Acme Trust'] }),
    ).toEqual(["the issuer organisation (none) is not one of Let's Encrypt, Acme Trust"]);
  });
});

describe('chainProblems: validity of the path and where it ends', () => {
  const NO_ROOT = 'the served chain does not lead to a root of the authority (is the intermediate missing?)';
  const line = (cert: X509Certificate) => cert.subject.replace(/\n/g, ', ');
  const notValid = (what: string, cert: X509Certificate) =>
    `${what} ${line(cert)} is not valid now (valid from ${cert.validFrom} to ${cert.validTo})`;

  it('judges an intermediate valid from a minute before its notBefore until just before its notAfter', async () => {
    const { chain } = await issued();
    const roots = [new X509Certificate(ca.rootPem)];
    const intermediate = chain[1]!;
    const from = Date.parse(intermediate.validFrom);
    const to = Date.parse(intermediate.validTo);
    expect(chainProblems(chain, roots, new Date(from - 60_000))).toEqual([]);
    expect(chainProblems(chain, roots, new Date(from - 61_000))).toEqual([
      notValid('the intermediate', intermediate),
    ]);
    expect(chainProblems(chain, roots, new Date(to - 1))).toEqual([]);
    expect(chainProblems(chain, roots, new Date(to))).toEqual([notValid('the intermediate', intermediate)]);
  });

  it('refuses a root that is not valid at `now`, naming it as the root', async () => {
    const { chain } = await issued({ signer: ca.root, intermediates: [] });
    const root = new X509Certificate(ca.rootPem);
    const to = Date.parse(root.validTo);
    expect(chainProblems(chain, [root], new Date(to - 1))).toEqual([]);
    expect(chainProblems(chain, [root], new Date(to))).toEqual([notValid('the root', root)]);
    expect(line(root)).toBe("CN=Test Root X1, O=Let's Encrypt, C=US");
  });

  it('names the certificate after which the chain breaks, its whole subject on one line', async () => {
    const intermediate = new X509Certificate(ca.intermediate.cert.toString('pem'));
    const foreign = new X509Certificate(otherCa.intermediate.cert.toString('pem'));
    expect(chainProblems([intermediate, foreign], [new X509Certificate(otherCa.rootPem)])).toEqual([
      "the served chain is broken after CN=Test E7, O=Let's Encrypt, C=US",
    ]);
  });

  it('accepts a chain that ends in one of the roots itself, whichever of the roots it is', async () => {
    // The authority's anchor may be an intermediate (not self-signed): a chain that is just that anchor ends there.
    const anchor = new X509Certificate(ca.intermediate.cert.toString('pem'));
    const otherRoot = new X509Certificate(otherCa.rootPem);
    expect(chainProblems([anchor], [anchor])).toEqual([]);
    expect(chainProblems([anchor], [otherRoot, anchor])).toEqual([]);
    expect(chainProblems([anchor], [otherRoot])).toEqual([NO_ROOT]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// fetchServedChain against servers on 127.0.0.1.

/** `promise`, or a rejection when it has not settled within `ms` (a hang is a failure, not a 30 s test timeout). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

const servers: Server[] = [];
const openSockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of openSockets) socket.destroy();
  openSockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: Socket) => {
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A TLS server presenting `pem` (leaf first); records the SNI names asked for and when the client ends. */
async function tlsServer(pem: string, keyPem: string) {
  const servernames: string[] = [];
  let clientEnded!: () => void;
  const ended = new Promise<void>((resolve) => {
    clientEnded = resolve;
  });
  const SNICallback = (name: string, done: (error: Error | null) => void) => {
    servernames.push(name); // during the ClientHello: before the client can see the handshake complete
    done(null); // no context of its own: the server's default one
  };
  const server = createTlsServer({ key: keyPem, cert: pem, SNICallback }, (socket) => {
    socket.on('end', () => clientEnded());
    socket.resume();
  });
  const port = await listen(server);
  return { port, servernames, ended };
}

describe('fetchServedChain: the chain a device serves', () => {
  const fingerprints = (chain: X509Certificate[]) => chain.map((c) => c.fingerprint256);

  it('returns the served chain leaf first, asks for the SNI name, and closes the connection', async () => {
    const { pem, keyPem } = await ca.issue(NAMES);
    const server = await tlsServer(pem, keyPem!);
    const chain = await within(
      fetchServedChain({ host: '127.0.0.1', port: server.port, servername: 'www.fw.example.com' }),
      5000,
      'fetchServedChain',
    );
    expect(chain.every((c) => c instanceof X509Certificate)).toBe(true);
    expect(fingerprints(chain)).toEqual(fingerprints(certs(pem)));
    expect(server.servernames).toEqual(['www.fw.example.com']);
    await within(server.ended, 2000, 'the client ending the connection');
    // Nothing is trusted on the way: the chain is judged afterwards against the authority's roots.
    expect(servedChainProblems(chain, expectedFor(chain[0]!))).toEqual([]);
  });

  it('stops at a self-signed root served at the top, and returns a lone leaf as it is', async () => {
    const { pem, keyPem } = await ca.issue(NAMES);
    const withRoot = `${pem}${ca.rootPem}`;
    const full = await tlsServer(withRoot, keyPem!);
    const chain = await within(
      fetchServedChain({ host: '127.0.0.1', port: full.port, servername: NAMES[0]! }),
      5000,
      'fetchServedChain',
    );
    expect(fingerprints(chain)).toEqual(fingerprints(certs(withRoot)));

    const leafOnly = pemCertificates(pem)[0]!;
    const lone = await tlsServer(leafOnly, keyPem!);
    const single = await within(
      fetchServedChain({ host: '127.0.0.1', port: lone.port, servername: NAMES[0]! }),
      5000,
      'fetchServedChain',
    );
    expect(fingerprints(single)).toEqual(fingerprints(certs(leafOnly)));
  });

  it('gives up on a server that accepts but never answers the handshake, and hangs up', async () => {
    let serverSawClose!: () => void;
    const closed = new Promise<void>((resolve) => {
      serverSawClose = resolve;
    });
    const server = createNetServer((socket) => {
      socket.resume(); // read the ClientHello, never answer
      socket.on('close', () => serverSawClose());
    });
    const port = await listen(server);
    const started = Date.now();
    await expect(
      within(fetchServedChain({ host: '127.0.0.1', port, servername: NAMES[0]! }, 300), 5000, 'fetch'),
    ).rejects.toThrow(new Error(`no TLS handshake with 127.0.0.1:${port} within 300 ms`));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await within(closed, 2000, 'the client closing the connection');
  });

  it('rejects with the error code when nothing listens', async () => {
    const server = createNetServer();
    const port = await listen(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    servers.splice(servers.indexOf(server), 1);
    await expect(
      within(fetchServedChain({ host: '127.0.0.1', port, servername: NAMES[0]! }, 2000), 5000, 'fetch'),
    ).rejects.toThrow(new Error(`TLS to 127.0.0.1:${port} failed: ECONNREFUSED`));
  });
});

describe('coversName', () => {
  it('matches names case-insensitively, a wildcard only as a wildcard', async () => {
    const { chain } = await issued({}, ['fw.example.com', '*.lab.example.com']);
    const leaf = chain[0]!;
    expect(coversName(leaf, 'FW.example.com')).toBe(true);
    expect(coversName(leaf, '*.LAB.example.com')).toBe(true);
    expect(coversName(leaf, 'host.lab.example.com')).toBe(true);
    expect(coversName(leaf, '*.example.com')).toBe(false);
    expect(coversName(leaf, 'www.fw.example.com')).toBe(false);
  });
});

describe('coversName without a subjectAltName extension', () => {
  it('a certificate naming its host only in the CN covers no wildcard', () => {
    const pem = execFileSync(
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
      ].concat(['-subj', '/CN=*.example.com', '-days', '1']),
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const cert = new X509Certificate(pem);
    expect(cert.subjectAltName).toBeUndefined();
    expect(coversName(cert, '*.example.com')).toBe(false);
  });
});
