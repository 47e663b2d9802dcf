import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes a self-signed ECDSA P-256 certificate and its key with openssl (the lab's devices and Pebble start with
 * one): CN is the first name, every name is a SAN (IP addresses as IP SANs).
 */
export function writeSelfSigned(names: string[], keyPath: string, certPath: string, days = 10): void {
  const sans = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
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
      keyPath,
      '-out',
      certPath,
      '-days',
      String(days),
      '-subj',
      `/CN=${names[0]}`,
      '-addext',
      `subjectAltName=${sans}`,
    ],
    { stdio: 'ignore' },
  );
}

/** A self-signed key and certificate as PEM strings, for a simulated appliance's factory certificate. */
export function selfSignedPems(names: string[], days = 5): { keyPem: string; chainPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'self-signed-'));
  try {
    writeSelfSigned(names, join(dir, 'key.pem'), join(dir, 'cert.pem'), days);
    return {
      keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'),
      chainPem: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
