import { webcrypto, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { pemCertificates } from '../../src/util/pem.ts';
import { chainProblems, type Expected, servedChainProblems } from '../../src/verify/tls.ts';
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
