import { createHash } from 'node:crypto';

export const CHALLENGE_LABEL = '_acme-challenge';
const MAX_NAME = 253;

/** The name DNS-01 validates for a certificate name: a wildcard `*.x` is validated at `x`. */
export function validationBase(name: string): string {
  return name.startsWith('*.') ? name.slice(2) : name;
}

/** `_acme-challenge.<name>`: where the CA looks, and where the organisation's CNAME lives. */
export function challengeName(name: string): string {
  return `${CHALLENGE_LABEL}.${validationBase(name)}`;
}

/**
 * Where the TXT record is written: `<name>.<delegate_zone>`, one target per name so parallel jobs never
 * overwrite each other. When that would pass 253 characters, a hashed label stands in for the name.
 */
export function aliasTarget(name: string, delegateZone: string): string {
  const base = validationBase(name).toLowerCase();
  const zone = delegateZone.toLowerCase().replace(/\.$/, '');
  const plain = `${base}.${zone}`;
  if (plain.length <= MAX_NAME) return plain;
  const hashed = createHash('sha256').update(base).digest('hex').slice(0, 32);
  return `${hashed}.${zone}`;
}

export interface ChallengeCname {
  /** `_acme-challenge.<name>` (no trailing dot). */
  name: string;
  /** `<name>.<delegate_zone>` or the hashed form (no trailing dot). */
  target: string;
}

/** The CNAMEs a set of certificate names needs, one per validated name, sorted, without duplicates. */
export function challengeCnames(names: Iterable<string>, delegateZone: string): ChallengeCname[] {
  const byName = new Map<string, ChallengeCname>();
  for (const name of names) {
    const record = { name: challengeName(name).toLowerCase(), target: aliasTarget(name, delegateZone) };
    byName.set(record.name, record);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Longest certificate name whose `_acme-challenge.` name still fits in 253 characters. */
export const MAX_DNS01_NAME = MAX_NAME - CHALLENGE_LABEL.length - 1;
