import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Set by git-http.ts for a push made with a token over HTTP (a workflow's GITHUB_TOKEN or an App token). */
export const TOKEN_PUSH_ENV = 'OTTR_LAB_TOKEN_PUSH';

/**
 * Installs an `update` hook in the lab's bare origin that refuses, as a branch protection rule or ruleset that
 * requires pull requests does, a push made with a token to one of `branches` (BEHAVIOUR.md §8): the push fails
 * with "GH006: Protected branch update failed for refs/heads/main." and "Changes must be made through a pull
 * request.". Local pushes (a colleague merging, the tests' administrator) are let through, as an administrator
 * bypasses the rule. The `update` hook runs once per ref, so the other refs of the same push are judged alone.
 */
export function installBranchProtection(bareDir: string, branches: readonly string[]): void {
  const refs = branches.map((b) => `refs/heads/${b}`).join(' ');
  const hook = `#!/bin/sh
# Lab stand-in for GitHub's branch protection of ${branches.join(', ')} (pushes made with a token).
[ -z "$${TOKEN_PUSH_ENV}" ] && exit 0
case " ${refs} " in
  *" $1 "*)
    echo "error: GH006: Protected branch update failed for $1." >&2
    echo "error: Changes must be made through a pull request." >&2
    exit 1
    ;;
esac
exit 0
`;
  const path = join(bareDir, 'hooks', 'update');
  writeFileSync(path, hook);
  chmodSync(path, 0o755);
}
