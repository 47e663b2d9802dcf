import type { Resolver } from 'node:dns/promises';
import { retry } from '../util/poll.ts';
import { challengeCnames } from './alias.ts';

export interface AliasProblem {
  name: string;
  expected: string;
  found: string | undefined;
  /** The zone-file line that fixes it. */
  record: string;
  /**
   * Why the name could not be looked up (the resolver timed out, refused or failed), after retries: the alias
   * may well be in place. Undefined when the resolver answered (the CNAME is absent or points elsewhere).
   */
  lookupError?: string;
}

/**
 * Answers that mean the record is not there (c-ares codes, as node:dns reports them): NXDOMAIN (RFC 8020), or the
 * name exists with other types only.
 */
const ABSENT = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

/** Whether a resolver error says there is no such CNAME (rather than that the question went unanswered). */
export function isAbsentAnswer(error: unknown): boolean {
  return ABSENT.has((error as NodeJS.ErrnoException).code ?? '');
}

/** The CNAME of `name`, undefined when there is none; a failing resolver is asked again, then throws. */
async function lookupCname(resolver: Resolver, name: string): Promise<string | undefined> {
  try {
    return await retry(async () => (await resolver.resolveCname(name))[0], {
      attempts: 3,
      baseMs: 200,
      capMs: 1000,
      retryable: (error) => !isAbsentAnswer(error),
    });
  } catch (error) {
    if (isAbsentAnswer(error)) return undefined;
    throw error;
  }
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
        found = (await lookupCname(resolver, name))?.toLowerCase().replace(/\.$/, '');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        return {
          name,
          expected: target,
          found: undefined,
          record: `${name}. CNAME ${target}.`,
          lookupError: code,
        };
      }
      if (found === target) return undefined;
      return { name, expected: target, found, record: `${name}. CNAME ${target}.` };
    }),
  );
  return problems.filter((p): p is AliasProblem => p !== undefined);
}

export function describeAliasProblems(problems: readonly AliasProblem[]): string {
  const unchecked = problems.filter((p) => p.lookupError);
  if (unchecked.length === problems.length)
    return `the challenge aliases could not be checked: the resolver failed (${[...new Set(unchecked.map((p) => p.lookupError))].join(', ')}) for ${unchecked.map((p) => `_acme-challenge of ${p.name.replace(/^_acme-challenge\./, '')}`).join(', ')}; nothing was ordered`;
  const lines = problems.map(
    (p) =>
      `  ${p.record}${p.lookupError ? `   (not checked: ${p.lookupError})` : p.found ? `   (now: CNAME ${p.found})` : '   (missing)'}`,
  );
  return `the challenge alias is not in place; create in each name's zone:\n${lines.join('\n')}`;
}
