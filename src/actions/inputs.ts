import { readFileSync } from 'node:fs';
import * as core from '@actions/core';
import { maskableParts, type SecretSource, secretSlots } from '../secrets/source.ts';

/** Reads an action input the way the runner passes it (INPUT_<NAME>), trimmed (getInput's default); '' when absent. */
export function text(name: string): string {
  return core.getInput(name);
}

/** true/false inputs; anything else is a clear error naming the input. */
export function flag(name: string): boolean {
  const value = text(name).toLowerCase();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`input ${name} must be true or false, not "${value}"`);
}

/** A list input: names separated by commas, spaces or new lines. */
export function list(name: string): string[] {
  return text(name).split(/[\s,]/).filter(Boolean);
}

/**
 * A job's secrets: the values the workflow put into the slots OTTR_SECRET_1… for the names the plan gave the job,
 * each masked (line by line, as the runner masks) before anything else runs. No other variable is ever read as a secret.
 */
export function jobSecrets(names: readonly string[], env: NodeJS.ProcessEnv, slots: number): SecretSource {
  const source = secretSlots(names, env, slots);
  for (const name of source.names())
    for (const part of maskableParts(source.get(name)!)) core.setSecret(part);
  return source;
}

/** Masks a value read later (a secret, or a token a device derived from one), line by line as the runner masks. */
export function mask(value: string): void {
  for (const part of maskableParts(value)) core.setSecret(part);
}

/** Runs an action's main: any error fails the step with its message (never a stack trace). */
export function runAction(main: () => Promise<void>): void {
  main().catch((error: unknown) => core.setFailed((error as Error).message));
}

/** Where an action that writes to GitHub runs: the repository, the API and server, the run, the default branch. */
export interface GitHubContext {
  owner: string;
  repo: string;
  apiUrl: string;
  serverUrl: string;
  runUrl?: string;
  /**
   * The repository's default branch as the run tells it: the event payload's `repository.default_branch`, else,
   * for a `schedule` event (whose payload is only `{schedule, workflow}`), GITHUB_REF: GitHub runs a scheduled
   * workflow on the default branch's last commit ("Events that trigger workflows", docs.github.com). Absent
   * when neither says: ask the API (repositoryDefaultBranch), never assume `main`.
   */
  eventDefaultBranch?: string;
}

export function githubContext(env: NodeJS.ProcessEnv): GitHubContext {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
  if (!owner || !repo)
    throw new Error('GITHUB_REPOSITORY is not set (owner/repo); run this inside a workflow');
  const serverUrl = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const defaultBranch = eventDefaultBranch(env);
  return {
    owner,
    repo,
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    serverUrl,
    ...(env.GITHUB_RUN_ID
      ? { runUrl: `${serverUrl}/${owner}/${repo}/actions/runs/${env.GITHUB_RUN_ID}` }
      : {}),
    ...(defaultBranch ? { eventDefaultBranch: defaultBranch } : {}),
  };
}

function eventDefaultBranch(env: NodeJS.ProcessEnv): string | undefined {
  let event: unknown;
  try {
    if (env.GITHUB_EVENT_PATH) event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
  } catch {
    // an unreadable event payload says nothing about the default branch
  }
  const fromPayload = (event as { repository?: { default_branch?: unknown } } | null)?.repository
    ?.default_branch;
  if (typeof fromPayload === 'string' && fromPayload) return fromPayload;
  const ref = env.GITHUB_REF ?? '';
  if (env.GITHUB_EVENT_NAME === 'schedule' && ref.startsWith('refs/heads/'))
    return ref.slice('refs/heads/'.length) || undefined;
  return undefined;
}

/** The one call repositoryDefaultBranch makes (repos/get); an Octokit from @actions/github has it. */
export interface RepositoryReader {
  rest: {
    repos: {
      get(params: { owner: string; repo: string }): Promise<{ data: { default_branch: string } }>;
    };
  };
}

/**
 * The default branch to publish onto: the one the run already knows (the `base` input or the event), else the
 * repository's as the API tells it (GET /repos/{owner}/{repo}, readable with any token's metadata permission).
 */
export async function repositoryDefaultBranch(
  known: string | undefined,
  octokit: RepositoryReader,
  where: { owner: string; repo: string },
): Promise<string> {
  if (known) return known;
  let answer: string | undefined;
  try {
    answer = (await octokit.rest.repos.get({ owner: where.owner, repo: where.repo })).data.default_branch;
  } catch (error) {
    throw new Error(
      `the event does not name the default branch and the API did not either (${(error as Error).message}); set the input base`,
    );
  }
  if (!answer)
    throw new Error(
      'the event does not name the default branch and the API did not either; set the input base',
    );
  return answer;
}

/** The token input of an action that writes to GitHub; required unless it is a dry run. */
export function githubToken(dryRun: boolean): string {
  const token = text('github-token');
  if (!token && !dryRun) throw new Error('input github-token is required (an App token, or github.token)');
  return token;
}
