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
 * Settings → Actions → General → Workflow permissions: what a job with no `permissions:` (none on the workflow
 * either) gets. "Read repository contents and packages permissions" (`restricted`, the default of repositories
 * created since 2023-02-02) or "Read and write permissions" (`permissive`). `id-token` is `none` in both
 * (docs.github.com/en/actions/reference/github_token-reference, "Permissions for the GITHUB_TOKEN", the table's
 * "Default access" columns; github.blog/changelog/2023-02-02-github-actions-updating-the-default-github_token-
 * permissions-to-read-only).
 */
export type DefaultWorkflowPermissions = 'restricted' | 'permissive';

function repositoryDefault(setting: DefaultWorkflowPermissions): TokenPermissions {
  const grant: TokenPermissions = { metadata: 'read' };
  for (const key of JOB_PERMISSION_KEYS) grant[key] = setting === 'permissive' ? 'write' : 'none';
  grant['id-token'] = 'none';
  if (setting === 'restricted') grant.contents = 'read';
  return grant;
}

/**
 * A job's effective permissions (`permissionsOf` in job.ts) as the token's grant: a map gives what it lists and
 * `none` for every key it leaves out (so `{}` grants only `metadata: read`, which GitHub always adds);
 * `read-all` / `write-all` give every key that level. No `permissions:` anywhere: the repository's default
 * workflow permissions (`restricted` unless the repository is set otherwise).
 */
export function tokenPermissions(
  permissions: Record<string, string>,
  setting: DefaultWorkflowPermissions = 'restricted',
): TokenPermissions {
  const all = permissions['*'];
  if (all === 'default') return repositoryDefault(setting);
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
export function emulatorJobTokens(
  emulator: GitHubEmulator,
  setting: DefaultWorkflowPermissions = 'restricted',
): MintJobToken {
  let minted = 0;
  return (job, permissions) => {
    const token = `ghs_lab_${job}_${++minted}`;
    emulator.tokens.add(token);
    emulator.permissions.set(token, tokenPermissions(permissions, setting));
    return token;
  };
}
