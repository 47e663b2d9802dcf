import type { GitHubEmulator, TokenPermissions } from '../github/emulator.ts';

/**
 * The permission keys of a job's `permissions:` that `read-all` / `write-all` grant
 * (docs.github.com/actions/writing-workflows/choosing-what-your-workflow-does/controlling-permissions-for-github_token).
 * `workflows` is not one of them: no GITHUB_TOKEN can change `.github/workflows/`.
 */
const JOB_PERMISSION_KEYS = [
  'actions',
  'checks',
  'contents',
  'deployments',
  'id-token',
  'issues',
  'pull-requests',
  'statuses',
] as const;

/**
 * A job's effective permissions (`permissionsOf` in job.ts) as the token's grant: a map gives what it lists and
 * `none` for every key it leaves out (so `{}` grants only `metadata: read`, which GitHub always adds);
 * `read-all` / `write-all` give every key that level. No `permissions:` anywhere: the repository's default
 * workflow permissions, which the lab leaves unrestricted (undefined).
 */
export function tokenPermissions(permissions: Record<string, string>): TokenPermissions | undefined {
  const all = permissions['*'];
  if (all === 'default') return undefined;
  const grant: TokenPermissions = { metadata: 'read' };
  for (const key of JOB_PERMISSION_KEYS) {
    const level = all ?? permissions[key] ?? 'none';
    grant[key] = level === 'read' || level === 'write' ? level : 'none';
  }
  return grant;
}

/** What the runner calls when a job (one leg) starts: the job's own GITHUB_TOKEN for those permissions. */
export type MintJobToken = (job: string, permissions: Record<string, string>) => string;

/**
 * Mints a fresh lab token per job (`ghs_lab_<job>_<n>`), accepted by the emulator and limited there to the job's
 * effective permissions (403 "Resource not accessible by integration" beyond them, see BEHAVIOUR.md §1).
 */
export function emulatorJobTokens(emulator: GitHubEmulator): MintJobToken {
  let minted = 0;
  return (job, permissions) => {
    const token = `ghs_lab_${job}_${++minted}`;
    emulator.tokens.add(token);
    const grant = tokenPermissions(permissions);
    if (grant) emulator.permissions.set(token, grant);
    return token;
  };
}
