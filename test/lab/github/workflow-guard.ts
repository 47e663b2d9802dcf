import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The environment variable a lab push sets to act as a token that has the `workflows` permission. */
export const WORKFLOWS_PERMISSION_ENV = 'OTTR_LAB_WORKFLOWS_PERMISSION';

/**
 * Installs a `pre-receive` hook in the lab's bare origin that refuses, as GitHub does for a GitHub App or
 * GITHUB_TOKEN without the `workflows` permission, a push that would create or update a file under
 * `.github/workflows/` (rules and sources in BEHAVIOUR.md, "Pushes that change workflows"):
 *
 * - any commit the push introduces (not yet reachable from a ref of the repository) that changes such a file;
 * - a branch other than the default one whose new tip differs from the default branch's tip in such a file
 *   (a branch built on an older base than the default branch "reverts" the default branch's workflow change).
 *
 * A push whose environment has `OTTR_LAB_WORKFLOWS_PERMISSION=write` (an administrator, a token with the
 * permission) is let through. Local pushes run the hook with the pusher's environment, which is what makes this
 * work without a server.
 */
export function installWorkflowPushGuard(bareDir: string, options: { defaultBranch?: string } = {}): void {
  const defaultRef = `refs/heads/${options.defaultBranch ?? 'main'}`;
  const hook = `#!/bin/sh
# Lab stand-in for GitHub's refusal of workflow changes without the \`workflows\` permission.
[ "$${WORKFLOWS_PERMISSION_ENV}" = "write" ] && exit 0
zero=0000000000000000000000000000000000000000
status=0
refuse() {
  echo "refusing to allow a GitHub App to create or update workflow \\\`$1\\\` without \\\`workflows\\\` permission" >&2
  status=1
}
while read old new ref; do
  [ "$new" = "$zero" ] && continue
  for commit in $(git rev-list "$new" --not --all); do
    file=$(git diff-tree --root --no-commit-id --name-only -r "$commit" -- .github/workflows | head -n 1)
    [ -n "$file" ] && refuse "$file" && break
  done
  [ $status -ne 0 ] && continue
  if [ "$ref" != "${defaultRef}" ] && git rev-parse --verify --quiet "${defaultRef}" >/dev/null; then
    file=$(git diff --name-only "${defaultRef}" "$new" -- .github/workflows | head -n 1)
    [ -n "$file" ] && refuse "$file"
  fi
done
exit $status
`;
  const path = join(bareDir, 'hooks', 'pre-receive');
  writeFileSync(path, hook);
  chmodSync(path, 0o755);
}
