import type { GitHubClient } from './github-client.ts';

/** A repository label as GitHub accepts it: a name of at most 50 characters, a color of six hex digits, no `#`. */
export interface LabelSpec {
  name: string;
  color?: string;
  description?: string;
}

const MAX_NAME = 50;

/** Whether a 422 from issues/create-label says the label is there already (`errors[].code: already_exists`). */
function alreadyExists(error: unknown): boolean {
  const e = error as { status?: number; response?: { data?: { errors?: { code?: string }[] } } } | null;
  return e?.status === 422 && (e.response?.data?.errors ?? []).some((x) => x.code === 'already_exists');
}

/**
 * Creates the label unless the repository has it (GitHub REST issues/create-label); `created` says which. The
 * spec is checked first against GitHub's rules so a bad one fails with a message naming the rule.
 */
export async function ensureLabel(
  octokit: GitHubClient,
  target: { owner: string; repo: string },
  label: LabelSpec,
): Promise<{ created: boolean }> {
  if (label.name.trim() === '' || label.name.length > MAX_NAME)
    throw new Error(`label "${label.name}": GitHub label names are 1 to ${MAX_NAME} characters`);
  const color = label.color?.replace(/^#/, '');
  if (color !== undefined && !/^[0-9a-fA-F]{6}$/.test(color))
    throw new Error(`label "${label.name}": color "${label.color}" is not six hex digits`);
  try {
    await octokit.rest.issues.createLabel({
      ...target,
      name: label.name,
      ...(color ? { color } : {}),
      ...(label.description ? { description: label.description } : {}),
    });
    return { created: true };
  } catch (error) {
    if (alreadyExists(error)) return { created: false };
    throw error;
  }
}
