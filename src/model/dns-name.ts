import { isIP } from 'node:net';

export const MAX_NAMES_PER_CERTIFICATE = 100;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Why `name` is not a DNS name a public ACME CA would issue for, or undefined when it is fine:
 * lowercase LDH labels of at most 63 characters, at most 253 in all, at least two labels, a wildcard
 * only as the whole leftmost label, no IP addresses, no trailing dot.
 */
export function dnsNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return `is ${name.length} characters long; a DNS name has at most 253`;
  if (isIP(name)) return 'is an IP address, not a DNS name';
  if (name.endsWith('.')) return 'must not end with a dot';
  if (name !== name.toLowerCase()) return `must be lowercase ("${name.toLowerCase()}")`;
  const labels = name.split('.');
  if (labels.length < 2) return 'must be a fully qualified name with at least two labels';
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label === '*') {
      if (i !== 0) return 'may hold a wildcard only as the whole leftmost label (*.example.com)';
      if (labels.length < 3) return 'a wildcard needs at least two labels after it (*.example.com)';
      continue;
    }
    if (label.includes('*'))
      return `label "${label}" holds a partial wildcard; only a whole leftmost "*" label is allowed`;
    if (label.length === 0) return 'has an empty label (two dots in a row)';
    if (label.length > 63)
      return `label "${label.slice(0, 20)}…" is ${label.length} characters; a label has at most 63`;
    if (!LABEL.test(label)) {
      return `label "${label}" may hold only letters, digits and inner hyphens`;
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!))
    return 'ends in an all-numeric label, which no top-level domain is';
  return undefined;
}

export function ipAddressProblem(address: string): string | undefined {
  return isIP(address) === 0 ? 'is not a valid IPv4 or IPv6 address' : undefined;
}
