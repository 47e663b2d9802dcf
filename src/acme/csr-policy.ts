import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { Device, KeyPolicy } from '../model/types.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** What a CSR proved about itself once it passed the policy. */
export interface AcceptedCsr {
  /** Every DNS name, lowercase, as requested. */
  names: string[];
  /** DER SubjectPublicKeyInfo, to compare with the served certificate's key later. */
  spki: Uint8Array;
  key: { type: 'rsa'; size: number } | { type: 'ecdsa'; curve: string };
}

export type CsrCheck = { ok: true; csr: AcceptedCsr } | { ok: false; problems: string[] };

const WEAK_HASHES = new Set(['SHA-1', 'MD5']);

/** The device's certificate names: the common name and the SANs, lowercase, without duplicates. */
export function deviceNames(device: Device): string[] {
  return [
    ...new Set([device.common_name, ...(device.subject_alternative_names ?? [])].map((n) => n.toLowerCase())),
  ];
}

function keyProblems(key: AcceptedCsr['key'], policy: KeyPolicy | undefined): string[] {
  if (policy && policy.type !== key.type)
    return [`key is ${describeKey(key)}; the authority requires ${policy.type.toUpperCase()}`];
  if (key.type === 'rsa') {
    const minimum = policy?.type === 'rsa' ? (policy.size ?? 2048) : 2048;
    return key.size < minimum ? [`key is RSA ${key.size}; at least RSA ${minimum} is required`] : [];
  }
  const allowed = policy?.type === 'ecdsa' && policy.curve ? [policy.curve] : ['P-256', 'P-384'];
  return allowed.includes(key.curve) ? [] : [`key is ECDSA ${key.curve}; allowed: ${allowed.join(', ')}`];
}

export function describeKey(key: AcceptedCsr['key']): string {
  return key.type === 'rsa' ? `RSA ${key.size}` : `ECDSA ${key.curve}`;
}

/**
 * Checks a CSR a device generated before anything is ordered: it parses, its signature verifies with its own
 * key, it asks for exactly the device's names (no more, no fewer, no IP/e-mail/URI names), and its key is one
 * the authority's policy allows. Each violation is a sentence naming the problem.
 */
export async function checkCsr(
  pem: string,
  device: Device,
  policy: KeyPolicy | undefined,
): Promise<CsrCheck> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (error) {
    return { ok: false, problems: [`the CSR does not parse (${(error as Error).message})`] };
  }
  const problems: string[] = [];
  if (!(await csr.verify().catch(() => false)))
    problems.push('the CSR signature does not verify with its own public key');
  const hash = (csr.signatureAlgorithm as { hash?: { name?: string } }).hash?.name;
  if (hash && WEAK_HASHES.has(hash)) problems.push(`the CSR is signed with ${hash}, which is not accepted`);

  const algorithm = csr.publicKey.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  let key: AcceptedCsr['key'];
  // The names @peculiar/x509 gives an SPKI: rsaEncryption and RSASSA-PSS keys, id-ecPublicKey as ECDSA (an EC
  // key on a curve it does not know comes back as the raw OID, and is refused below like any other type).
  if (algorithm.name === 'RSASSA-PKCS1-v1_5' || algorithm.name === 'RSA-PSS') {
    key = { type: 'rsa', size: algorithm.modulusLength ?? 0 };
  } else if (algorithm.name === 'ECDSA') {
    key = { type: 'ecdsa', curve: String(algorithm.namedCurve) };
  } else {
    return { ok: false, problems: [...problems, `the CSR's key type ${algorithm.name} is not RSA or ECDSA`] };
  }
  problems.push(...keyProblems(key, policy));

  const requested: string[] = [];
  const san = csr.getExtension('2.5.29.17') as x509.SubjectAlternativeNameExtension | null;
  for (const name of san?.names.items ?? []) {
    if (name.type === 'dns') requested.push(name.value.toLowerCase());
    else problems.push(`the CSR asks for a ${name.type} name (${name.value}); only DNS names are allowed`);
  }
  // Every CN attribute, wherever it stands (a second CN, or one joined to another attribute with "+", counts too);
  // read from the parsed name, not from its text, where a value may itself contain "CN=".
  for (const cn of csr.subjectName.getField('CN').map((value) => value.toLowerCase()))
    if (!requested.includes(cn))
      problems.push(`the CSR's common name ${cn} is not among its subject alternative names`);
  const wanted = deviceNames(device);
  const missing = wanted.filter((n) => !requested.includes(n));
  const extra = [...new Set(requested)].filter((n) => !wanted.includes(n));
  if (missing.length > 0) problems.push(`the CSR lacks ${missing.join(', ')}`);
  if (extra.length > 0)
    problems.push(`the CSR asks for names the inventory does not list: ${extra.join(', ')}`);

  if (problems.length > 0) return { ok: false, problems };
  const spki = new Uint8Array(csr.publicKey.rawData);
  return { ok: true, csr: { names: wanted, spki, key } };
}
