import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/cli.ts';

/**
 * The sample CODEOWNERS, read with GitHub's rule for the patterns it uses (anchored directory patterns; the last
 * matching line wins: docs "About code owners").
 */
const rules = readFileSync(join(PROJECT_ROOT, '.github/CODEOWNERS'), 'utf8')
  .split('\n')
  .map((l) => l.replace(/#.*$/, '').trim())
  .filter(Boolean)
  .map((l) => {
    const [pattern, ...owners] = l.split(/\s+/);
    return { pattern: pattern!, owners };
  });

function ownersOf(path: string): string[] {
  let owners: string[] = [];
  for (const rule of rules) {
    const prefix = rule.pattern.replace(/^\//, '');
    if (prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix) owners = rule.owners;
  }
  return owners;
}

describe('CODEOWNERS', () => {
  it('a device file in a data center folder nobody named needs the PKI admins', () => {
    expect(ownersOf('inventory/lab9/fw-lab9-01.yaml')).toEqual(['@acme/pki-admins']);
  });
  it('a known data center keeps its own team, with the PKI admins', () => {
    expect(ownersOf('inventory/sfo1/fw-sfo1-01.yaml')).toEqual(['@acme/netops-sfo1', '@acme/pki-admins']);
  });
  it('the trust boundary and the code that runs with secrets are owned by the admins', () => {
    expect(ownersOf('routing/settings.yaml')).toEqual(['@acme/pki-admins']);
    expect(ownersOf('.github/workflows/rotate.yml')).toContain('@acme/security');
    expect(ownersOf('src/rotate/run.ts')).toContain('@acme/security');
  });
});
