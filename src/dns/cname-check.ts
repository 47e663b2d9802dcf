import type { Resolver } from 'node:dns/promises';
import { challengeCnames } from './alias.ts';

export interface AliasProblem {
  name: string;
  expected: string;
  found: string | undefined;
  /** The zone-file line that fixes it. */
  record: string;
}

/**
 * Checks that every `_acme-challenge.<name>` is a CNAME to its alias target in the delegate zone (the
 * organisation creates these once; see `ottr dns-records`). Returns one problem per name that is wrong.
 */
export async function checkChallengeAliases(
  names: readonly string[],
  delegateZone: string,
  resolver: Resolver,
): Promise<AliasProblem[]> {
  const records = challengeCnames(names, delegateZone);
  const problems = await Promise.all(
    records.map(async ({ name, target }): Promise<AliasProblem | undefined> => {
      let found: string | undefined;
      try {
        found = (await resolver.resolveCname(name))[0]?.toLowerCase().replace(/\.$/, '');
      } catch {
        found = undefined;
      }
      if (found === target) return undefined;
      return { name, expected: target, found, record: `${name}. CNAME ${target}.` };
    }),
  );
  return problems.filter((p): p is AliasProblem => p !== undefined);
}

export function describeAliasProblems(problems: readonly AliasProblem[]): string {
  const lines = problems.map(
    (p) => `  ${p.record}${p.found ? `   (now: CNAME ${p.found})` : '   (missing)'}`,
  );
  return `the challenge alias is not in place; create in each name's zone:\n${lines.join('\n')}`;
}
