import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it, vi } from 'vitest';
import { ariCertificateId, parseRenewalInfo } from '../../src/acme/ari.ts';
import { checkCsr } from '../../src/acme/csr-policy.ts';
import { classifyProblem } from '../../src/acme/errors.ts';
import type { Device } from '../../src/model/types.ts';

const subtle = webcrypto.subtle;
const device: Device = {
  system_name: 'fw1',
  common_name: 'fw1.example.com',
  subject_alternative_names: ['vpn.example.com'],
  host_platform: 'panos',
  os_version: '10.2.4',
  data_center: 'sfo1',
  certificate_authority: 'lets_encrypt',
};

type KeySpec = { name: 'ECDSA'; namedCurve: string } | { name: 'RSASSA-PKCS1-v1_5'; modulusLength: number };

async function csrFor(
  names: string[],
  spec: KeySpec,
  extra: x509.JsonGeneralName[] = [],
  cn: string = names[0]!,
): Promise<string> {
  const algorithm =
    spec.name === 'ECDSA'
      ? { ...spec, hash: 'SHA-256' }
      : { ...spec, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const keys = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${cn}`,
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        ...names.map((value) => ({ type: 'dns' as const, value })),
        ...extra,
      ]),
    ],
  });
  return csr.toString('pem');
}

describe('CSR policy', () => {
  it('accepts exactly the device names with an allowed key', async () => {
    const result = await checkCsr(
      await csrFor(['fw1.example.com', 'vpn.example.com'], { name: 'ECDSA', namedCurve: 'P-256' }),
      device,
      undefined,
    );
    expect(result.ok).toBe(true);
    if (result.ok)
      expect(result.csr).toMatchObject({
        names: ['fw1.example.com', 'vpn.example.com'],
        key: { type: 'ecdsa', curve: 'P-256' },
      });
  });

  it('refuses a missing or a foreign name, and non-DNS names', async () => {
    const missing = await checkCsr(
      await csrFor(['fw1.example.com'], { name: 'ECDSA', namedCurve: 'P-256' }),
      device,
      undefined,
    );
    expect(!missing.ok && missing.problems).toEqual(['the CSR lacks vpn.example.com']);
    const foreign = await checkCsr(
      await csrFor(['fw1.example.com', 'vpn.example.com', 'evil.example.org'], {
        name: 'ECDSA',
        namedCurve: 'P-256',
      }),
      device,
      undefined,
    );
    expect(!foreign.ok && foreign.problems).toEqual([
      'the CSR asks for names the inventory does not list: evil.example.org',
    ]);
    const ip = await checkCsr(
      await csrFor(['fw1.example.com', 'vpn.example.com'], { name: 'ECDSA', namedCurve: 'P-256' }, [
        { type: 'ip', value: '10.0.0.1' },
      ]),
      device,
      undefined,
    );
    expect(!ip.ok && ip.problems[0]).toMatch(/asks for a ip name \(10.0.0.1\)/);
  });

  it('refuses weak keys and keys the authority does not allow', async () => {
    const names = ['fw1.example.com', 'vpn.example.com'];
    const weak = await checkCsr(
      await csrFor(names, { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024 }),
      device,
      undefined,
    );
    expect(!weak.ok && weak.problems).toEqual(['key is RSA 1024; at least RSA 2048 is required']);
    const p521 = await checkCsr(
      await csrFor(names, { name: 'ECDSA', namedCurve: 'P-521' }),
      device,
      undefined,
    );
    expect(!p521.ok && p521.problems[0]).toMatch(/ECDSA P-521; allowed: P-256, P-384/);
    const wrongType = await checkCsr(await csrFor(names, { name: 'ECDSA', namedCurve: 'P-256' }), device, {
      type: 'rsa',
      size: 3072,
    });
    expect(!wrongType.ok && wrongType.problems[0]).toMatch(/requires RSA/);
    const rsa = await checkCsr(
      await csrFor(names, { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048 }),
      device,
      { type: 'rsa', size: 3072 },
    );
    expect(!rsa.ok && rsa.problems[0]).toMatch(/at least RSA 3072/);
  });

  it('refuses a CSR whose signature does not verify, and garbage', async () => {
    const pem = await csrFor(['fw1.example.com', 'vpn.example.com'], { name: 'ECDSA', namedCurve: 'P-256' });
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5]! ^= 0xff; // inside the signature
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----`;
    const result = await checkCsr(tampered, device, undefined);
    expect(!result.ok && result.problems).toContain(
      'the CSR signature does not verify with its own public key',
    );
    const garbage = await checkCsr('not a csr', device, undefined);
    expect(!garbage.ok && garbage.problems[0]).toMatch(/does not parse/);
  });

  it('a CSR with CN=evil.example.org and the right SANs is refused', async () => {
    const names = ['fw1.example.com', 'vpn.example.com'];
    const result = await checkCsr(
      await csrFor(names, { name: 'ECDSA', namedCurve: 'P-256' }, [], 'evil.example.org'),
      device,
      undefined,
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      "the CSR's common name evil.example.org is not among its subject alternative names",
    ]);
  });

  it('a P-256 CSR under a P-384 policy is refused (and a P-384 one accepted)', async () => {
    const names = ['fw1.example.com', 'vpn.example.com'];
    const policy = { type: 'ecdsa', curve: 'P-384' } as const;
    const p256 = await checkCsr(await csrFor(names, { name: 'ECDSA', namedCurve: 'P-256' }), device, policy);
    expect(p256.ok).toBe(false);
    expect(!p256.ok && p256.problems).toEqual(['key is ECDSA P-256; allowed: P-384']);
    const p384 = await checkCsr(await csrFor(names, { name: 'ECDSA', namedCurve: 'P-384' }), device, policy);
    expect(p384.ok).toBe(true);
  });

  it('refuses a CSR whose signature check throws (malformed signature, unsupported algorithm)', async () => {
    const pem = await csrFor(['fw1.example.com', 'vpn.example.com'], { name: 'ECDSA', namedCurve: 'P-256' });
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const toPem = (bytes: Buffer) =>
      `-----BEGIN CERTIFICATE REQUEST-----\n${bytes.toString('base64')}\n-----END CERTIFICATE REQUEST-----`;
    // The signature BIT STRING (03 len 00 30 …) is the last element: its content no longer a SEQUENCE.
    const bitString = der.findLastIndex((b, i) => b === 0x03 && der[i + 2] === 0x00 && der[i + 3] === 0x30);
    const malformed = Buffer.from(der);
    malformed[bitString + 3] = 0x04;
    // ecdsa-with-SHA256 (1.2.840.10045.4.3.2) in the outer signatureAlgorithm becomes an unknown 1.2.840.10045.4.3.9.
    const oid = Buffer.from('2a8648ce3d040302', 'hex');
    const unsupported = Buffer.from(der);
    unsupported[der.lastIndexOf(oid) + oid.length - 1] = 0x09;
    for (const [what, bytes] of [
      ['malformed', malformed],
      ['unsupported', unsupported],
    ] as const) {
      // The precondition: the library's signature check really throws for this CSR (it does not return false).
      await expect(new x509.Pkcs10CertificateRequest(toPem(bytes)).verify(), what).rejects.toThrow();
      const result = await checkCsr(toPem(bytes), device, undefined);
      expect(result.ok, what).toBe(false);
      expect(!result.ok && result.problems, what).toContain(
        'the CSR signature does not verify with its own public key',
      );
    }
  });
});

describe('CSR policy: keys, hashes, names and subjects', () => {
  const names = ['fw1.example.com', 'vpn.example.com'];
  const p256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const rsa = (modulusLength: number) =>
    ({
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    }) as const;
  const keyPairs = new Map<string, Promise<webcrypto.CryptoKeyPair>>();
  /** One key pair per algorithm for the whole block: RSA generation is slow. */
  const keysFor = (
    algorithm: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams | { name: string },
  ) => {
    const id = JSON.stringify(algorithm);
    if (!keyPairs.has(id))
      keyPairs.set(
        id,
        subtle.generateKey(algorithm, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>,
      );
    return keyPairs.get(id)!;
  };
  async function csr(
    options: {
      key?: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams | { name: string };
      signing?: object;
      subject?: x509.JsonName | string;
      sans?: string[] | null;
    } = {},
  ): Promise<string> {
    const key = options.key ?? p256;
    const request = await x509.Pkcs10CertificateRequestGenerator.create({
      name: options.subject ?? `CN=${names[0]}`,
      keys: await keysFor(key),
      signingAlgorithm: (options.signing ??
        key) as x509.Pkcs10CertificateRequestCreateParams['signingAlgorithm'],
      extensions:
        options.sans === null
          ? []
          : [
              new x509.SubjectAlternativeNameExtension(
                (options.sans ?? names).map((value) => ({ type: 'dns' as const, value })),
              ),
            ],
    });
    return request.toString('pem');
  }
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const pemOf = (bytes: Buffer) =>
    `-----BEGIN CERTIFICATE REQUEST-----\n${bytes.toString('base64')}\n-----END CERTIFICATE REQUEST-----`;
  const problemsOf = (result: Awaited<ReturnType<typeof checkCsr>>) => (result.ok ? [] : result.problems);

  it('accepts an RSA key exactly at the required minimum and refuses a key one bit short of it', async () => {
    const rsa2048 = await checkCsr(await csr({ key: rsa(2048) }), device, undefined);
    expect(rsa2048.ok && rsa2048.csr.key).toEqual({ type: 'rsa', size: 2048 });
    const atPolicy = await checkCsr(await csr({ key: rsa(3072) }), device, { type: 'rsa', size: 3072 });
    expect(atPolicy.ok && atPolicy.csr.key).toEqual({ type: 'rsa', size: 3072 });
    const defaultSize = await checkCsr(await csr({ key: rsa(2048) }), device, { type: 'rsa' });
    expect(defaultSize.ok).toBe(true);
    const below = await checkCsr(await csr({ key: rsa(2048) }), device, { type: 'rsa', size: 2049 });
    expect(problemsOf(below)).toEqual(['key is RSA 2048; at least RSA 2049 is required']);
  });

  it('names the key it got and the type the authority requires when the key type is wrong', async () => {
    const ecdsa = await checkCsr(await csr(), device, { type: 'rsa', size: 2048 });
    expect(problemsOf(ecdsa)).toEqual(['key is ECDSA P-256; the authority requires RSA']);
    const rsaKey = await checkCsr(await csr({ key: rsa(2048) }), device, { type: 'ecdsa' });
    expect(problemsOf(rsaKey)).toEqual(['key is RSA 2048; the authority requires ECDSA']);
  });

  it('refuses a CSR signed with SHA-1 even though its signature verifies', async () => {
    const pem = await csr({ signing: { ...p256, hash: 'SHA-1' } });
    expect(await new x509.Pkcs10CertificateRequest(pem).verify()).toBe(true);
    expect(problemsOf(await checkCsr(pem, device, undefined))).toEqual([
      'the CSR is signed with SHA-1, which is not accepted',
    ]);
    // The same through a freshly loaded module: the weak-hash list is built when the module loads, and
    // Stryker's vitest runner activates such load-time mutants only after the test file's imports
    // (stryker-js#6144), so without a fresh load a mutated list could not be observed.
    vi.resetModules();
    const fresh = await import('../../src/acme/csr-policy.ts');
    expect(problemsOf(await fresh.checkCsr(pem, device, undefined))).toEqual([
      'the CSR is signed with SHA-1, which is not accepted',
    ]);
  });

  it('treats an RSA-PSS subject public key as an RSA key, not as an unknown key type', async () => {
    // rsaEncryption (1.2.840.113549.1.1.1) in the SubjectPublicKeyInfo becomes id-RSASSA-PSS (…1.1.10).
    const bytes = der(await csr({ key: rsa(2048) }));
    const rsaEncryption = Buffer.from('06092a864886f70d010101', 'hex');
    const at = bytes.indexOf(rsaEncryption);
    expect(at).toBeGreaterThan(0);
    bytes[at + rsaEncryption.length - 1] = 0x0a;
    const pem = pemOf(bytes);
    expect(new x509.Pkcs10CertificateRequest(pem).publicKey.algorithm.name).toBe('RSA-PSS');
    const problems = problemsOf(await checkCsr(pem, device, undefined));
    expect(problems.some((p) => /^key is RSA \d+; at least RSA 2048 is required$/.test(p))).toBe(true);
    expect(problems.filter((p) => p.includes('key type'))).toEqual([]);
  });

  it('refuses an Ed25519 CSR as neither RSA nor ECDSA, keeping the earlier problems', async () => {
    const ed25519 = await csr({ key: { name: 'Ed25519' } });
    expect(await new x509.Pkcs10CertificateRequest(ed25519).verify()).toBe(true);
    expect(await checkCsr(ed25519, device, undefined)).toEqual({
      ok: false,
      problems: ["the CSR's key type Ed25519 is not RSA or ECDSA"],
    });
    // Also under a policy, and with a signature that does not verify: both problems are reported.
    const bytes = der(ed25519);
    bytes[bytes.length - 5]! ^= 0xff;
    expect(await checkCsr(pemOf(bytes), device, { type: 'ecdsa' })).toEqual({
      ok: false,
      problems: [
        'the CSR signature does not verify with its own public key',
        "the CSR's key type Ed25519 is not RSA or ECDSA",
      ],
    });
  });

  it('refuses a CSR without a subject alternative name extension as lacking every name', async () => {
    const result = await checkCsr(await csr({ sans: null }), device, undefined);
    expect(problemsOf(result)).toEqual([
      "the CSR's common name fw1.example.com is not among its subject alternative names",
      'the CSR lacks fw1.example.com, vpn.example.com',
    ]);
  });

  it('lists every missing and every foreign name, comma-separated', async () => {
    const twoShort = await checkCsr(await csr({ subject: 'O=Example', sans: [] }), device, undefined);
    expect(problemsOf(twoShort)).toEqual(['the CSR lacks fw1.example.com, vpn.example.com']);
    const twoForeign = await checkCsr(
      await csr({ sans: [...names, 'evil.example.org', 'Other.Example.net', 'evil.example.org'] }),
      device,
      undefined,
    );
    expect(problemsOf(twoForeign)).toEqual([
      'the CSR asks for names the inventory does not list: evil.example.org, other.example.net',
    ]);
  });

  it('accepts a CSR without a common name when its SANs are exactly the device names', async () => {
    const result = await checkCsr(await csr({ subject: 'O=Example, C=US' }), device, undefined);
    expect(result.ok && result.csr.names).toEqual(names);
  });

  it('finds the common name wherever it stands in the subject', async () => {
    // @peculiar/x509 formats the subject as "O=Example, CN=evil.example.org".
    const later = await csr({ subject: [{ O: ['Example'] }, { CN: ['evil.example.org'] }] });
    expect(new x509.Pkcs10CertificateRequest(later).subject).toBe('O=Example, CN=evil.example.org');
    expect(problemsOf(await checkCsr(later, device, undefined))).toEqual([
      "the CSR's common name evil.example.org is not among its subject alternative names",
    ]);
    const laterOk = await csr({ subject: [{ O: ['Example'] }, { CN: ['VPN.example.com'] }] });
    expect((await checkCsr(laterOk, device, undefined)).ok).toBe(true);
  });

  it('refuses a CSR with a second common name, or one joined to another attribute with "+"', async () => {
    for (const subject of [
      [{ CN: ['fw1.example.com'] }, { CN: ['evil.example.org'] }],
      [{ CN: ['fw1.example.com', 'evil.example.org'] }],
      [{ O: ['Example'], CN: ['evil.example.org'] }],
    ]) {
      const pem = await csr({ subject });
      expect(problemsOf(await checkCsr(pem, device, undefined)), JSON.stringify(subject)).toEqual([
        "the CSR's common name evil.example.org is not among its subject alternative names",
      ]);
    }
  });

  it('reads the common name from the parsed subject: text like "CN=" inside another value is not one', async () => {
    // An organisation value with an escaped comma prints as "O=x\,CN=evil.example.org, CN=fw1.example.com".
    for (const organisation of ['x,CN=evil.example.org', 'x,  CN=evil.example.org']) {
      const pem = await csr({ subject: [{ O: [organisation] }, { CN: ['fw1.example.com'] }] });
      expect(new x509.Pkcs10CertificateRequest(pem).subject).toContain('\\,');
      expect((await checkCsr(pem, device, undefined)).ok, organisation).toBe(true);
    }
    const embedded = await csr({ subject: [{ OU: ['aCN=evil.example.org'] }, { CN: ['fw1.example.com'] }] });
    expect((await checkCsr(embedded, device, undefined)).ok).toBe(true);
  });

  it('wants the device names lowercase and once each, and only the common name when there are no SANs', async () => {
    const shouting: Device = {
      ...device,
      common_name: 'FW1.Example.COM',
      subject_alternative_names: ['fw1.example.com', 'VPN.example.com', 'vpn.EXAMPLE.com'],
    };
    const result = await checkCsr(await csr(), shouting, undefined);
    expect(result.ok && result.csr.names).toEqual(names);
    const { subject_alternative_names: _, ...single } = device;
    const only = await checkCsr(await csr({ sans: ['fw1.example.com'] }), single, undefined);
    expect(only.ok && only.csr.names).toEqual(['fw1.example.com']);
  });
});

describe('ARI', () => {
  it('computes the RFC 9773 certificate identifier', async () => {
    const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    // The RFC's example: AKI 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4, serial 00:87:65:43:21.
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '0087654321',
      subject: 'CN=example.com',
      issuer: 'CN=Test CA',
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2026-04-01T00:00:00Z'),
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      signingAlgorithm: algorithm,
      extensions: [new x509.AuthorityKeyIdentifierExtension('69885b6b87464041e1b37b847ba0ae2cde01c8d4')],
    });
    expect(ariCertificateId(cert.toString('pem'))).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('parses a suggested window and Retry-After', () => {
    const now = new Date('2026-11-23T00:00:00Z');
    const info = parseRenewalInfo(
      {
        suggestedWindow: { start: '2026-12-01T00:00:00Z', end: '2026-12-03T00:00:00Z' },
        explanationURL: 'https://ca.example/why',
      },
      '21600',
      now,
    );
    expect(info).toEqual({
      window: { start: '2026-12-01T00:00:00.000Z', end: '2026-12-03T00:00:00.000Z' },
      explanation_url: 'https://ca.example/why',
      retry_after: '2026-11-23T06:00:00.000Z',
    });
    expect(
      parseRenewalInfo(
        { suggestedWindow: { start: '2026-12-03T00:00:00Z', end: '2026-12-01T00:00:00Z' } },
        null,
        now,
      ),
    ).toBeUndefined();
    expect(parseRenewalInfo({}, null, now)).toBeUndefined();
  });
});

describe('problem classification', () => {
  it.each([
    [{ status: 429, type: 'urn:ietf:params:acme:error:rateLimited' }, 'ca_rate_limited'],
    [{ status: 400, type: 'urn:ietf:params:acme:error:badNonce' }, 'ca_bad_nonce'],
    [{ status: 403, type: 'urn:ietf:params:acme:error:unauthorized' }, 'ca_challenge_invalid'],
    [{ status: 400, type: 'urn:ietf:params:acme:error:rejectedIdentifier' }, 'ca_rejected'],
    [{ status: 503 }, 'ca_unavailable'],
    [undefined, 'internal'],
  ] as const)('%j → %s', (problem, expected) => {
    expect(classifyProblem(problem)).toBe(expected);
  });
});
