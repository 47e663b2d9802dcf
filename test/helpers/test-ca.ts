import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { RotationResult } from '../../src/model/results.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const HOUR = 3_600_000;

async function keys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

let serial = 0x1000;
/** Positive serials (a leading 7 keeps the top bit clear), unique within the process. */
const nextSerial = () => `7${(serial++).toString(16).padStart(8, '0')}`;

export interface Issuer {
  cert: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

/**
 * A small CA for tests: a root and an intermediate (O=Let's Encrypt by default, so the sample settings'
 * expected_issuers accept it), issuing leaves the way an ACME CA does (backdated an hour, 90 days).
 */
export class TestCa {
  private constructor(
    readonly root: Issuer,
    readonly intermediate: Issuer,
  ) {}

  static async create(options: { organisation?: string } = {}): Promise<TestCa> {
    const o = options.organisation ?? "Let's Encrypt";
    const rootKeys = await keys();
    const now = Date.now();
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: nextSerial(),
      name: `CN=Test Root X1,O=${o},C=US`,
      notBefore: new Date(now - 48 * HOUR),
      notAfter: new Date(now + 3650 * 24 * HOUR),
      keys: rootKeys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
      ],
    });
    const intermediateKeys = await keys();
    const intermediate = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject: `CN=Test E7,O=${o},C=US`,
      issuer: root.subject,
      notBefore: new Date(now - 24 * HOUR),
      notAfter: new Date(now + 1000 * 24 * HOUR),
      publicKey: intermediateKeys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(intermediateKeys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
      ],
    });
    return new TestCa({ cert: root, keys: rootKeys }, { cert: intermediate, keys: intermediateKeys });
  }

  get rootPem(): string {
    return `${this.root.cert.toString('pem')}\n`;
  }

  /**
   * Leaf PEM followed by the intermediate: what an ACME CA returns. `publicKey` certifies a key the caller
   * holds (a CSR's) instead of a fresh one; `signingKeys` forges: the leaf names `signer` (subject and
   * authority key identifier) but is signed by these keys; `intermediates` replaces what follows the leaf.
   * `keyPem` is the fresh leaf key (PKCS#8), to serve the certificate; absent when `publicKey` is given.
   */
  async issue(
    names: string[],
    options: {
      notBefore?: Date;
      days?: number;
      ca?: boolean;
      signer?: Issuer;
      publicKey?: webcrypto.CryptoKey;
      signingKeys?: webcrypto.CryptoKeyPair;
      intermediates?: x509.X509Certificate[];
    } = {},
  ): Promise<{ pem: string; leaf: x509.X509Certificate; keyPem?: string }> {
    const notBefore = options.notBefore ?? new Date(Date.now() - HOUR);
    const signer = options.signer ?? this.intermediate;
    const leafKeys = options.publicKey ? undefined : await keys();
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject: `CN=${names[0]}`,
      issuer: signer.cert.subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + (options.days ?? 90) * 24 * HOUR),
      publicKey: options.publicKey ?? leafKeys!.publicKey,
      signingKey: (options.signingKeys ?? signer.keys).privateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(options.ca === true, undefined, true),
        new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
        await x509.AuthorityKeyIdentifierExtension.create(signer.keys.publicKey),
      ],
    });
    const rest = (options.intermediates ?? [this.intermediate.cert]).map((c) => `${c.toString('pem')}\n`);
    return {
      pem: `${leaf.toString('pem')}\n${rest.join('')}`,
      leaf,
      ...(leafKeys ? { keyPem: await pkcs8Pem(leafKeys.privateKey) } : {}),
    };
  }

  /**
   * Another intermediate under this root (subject `CN=<name>,O=…`), valid from `notBefore` to `notAfter`
   * (default: like the regular one). With `signingKeys` it is a forgery: it names the root (subject and
   * authority key identifier) but the root's key never signed it.
   */
  async intermediateCa(
    options: { name?: string; notBefore?: Date; notAfter?: Date; signingKeys?: webcrypto.CryptoKeyPair } = {},
  ): Promise<Issuer> {
    const now = Date.now();
    const own = await keys();
    const o = /(?:^|,\s*)O=([^,]+)/.exec(this.root.cert.subject)?.[1] ?? "Let's Encrypt";
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject: `CN=${options.name ?? 'Test E8'},O=${o},C=US`,
      issuer: this.root.cert.subject,
      notBefore: options.notBefore ?? new Date(now - 24 * HOUR),
      notAfter: options.notAfter ?? new Date(now + 1000 * 24 * HOUR),
      publicKey: own.publicKey,
      signingKey: (options.signingKeys ?? this.root.keys).privateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(own.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.root.keys.publicKey),
      ],
    });
    return { cert, keys: own };
  }
}

/** A key pair no certificate belongs to (to sign forgeries with). */
export const strayKeys = (): Promise<webcrypto.CryptoKeyPair> => keys();

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key)).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

/** A certificate for `names` signed by its own key: chains to nothing. */
export async function selfSignedPem(names: string[], notBefore = new Date(Date.now() - 3_600_000)) {
  const own = await keys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${names[0]},O=Let's Encrypt`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 90 * 24 * HOUR),
    keys: own,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
    ],
  });
  return `${cert.toString('pem')}\n`;
}

/** A rotated result whose certificate block is what `pem`'s leaf says (as rotateDevice writes it). */
export function rotatedResult(systemName: string, pem: string, rotatedAt = new Date()): RotationResult {
  const leaf = parseLeaf(pem);
  return {
    schema: 'ottr.result/v1',
    system_name: systemName,
    status: 'rotated',
    certificate: {
      not_before: new Date(leaf.validFrom).toISOString(),
      not_after: new Date(leaf.validTo).toISOString(),
      serial: leaf.serialNumber.toLowerCase(),
      issuer: leaf.issuer.replace(/\n/g, ','),
      sha256_fingerprint: leaf.fingerprint256,
      rotated_at: rotatedAt.toISOString(),
      pem,
    },
    phases: [{ name: 'install', ms: 1200 }],
  };
}

function parseLeaf(pem: string): X509Certificate {
  return new X509Certificate(pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + 25));
}
