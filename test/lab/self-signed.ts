import { execFileSync } from 'node:child_process';

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
