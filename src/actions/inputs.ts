import { readFileSync } from 'node:fs';
import * as core from '@actions/core';

/** Reads an action input the way the runner passes it (INPUT_<NAME>), trimmed; '' when absent. */
export function text(name: string): string {
  return core.getInput(name).trim();
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
  return text(name)
    .split(/[\s,]+/)
    .filter(Boolean);
}

/**
 * Secrets reach the rotate and report steps as one JSON object in OTTR_SECRETS (the workflow passes
 * `toJSON(secrets)` through env:), so the inventory can name any secret. Every value is masked before use.
 */
export function secretEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const raw = env.OTTR_SECRETS;
  if (!raw) return env;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('OTTR_SECRETS is not a JSON object (pass toJSON(secrets) through env:)');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error('OTTR_SECRETS is not a JSON object (pass toJSON(secrets) through env:)');
  const merged: NodeJS.ProcessEnv = { ...env };
  delete merged.OTTR_SECRETS;
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value !== 'string') continue;
    for (const line of value.split('\n')) if (line.trim()) core.setSecret(line.trim());
    if (merged[name] === undefined) merged[name] = value;
  }
  return merged;
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
  /** The repository's default branch from the event payload ('main' when the event does not say). */
  eventDefaultBranch: string;
}

export function githubContext(env: NodeJS.ProcessEnv): GitHubContext {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
  if (!owner || !repo)
    throw new Error('GITHUB_REPOSITORY is not set (owner/repo); run this inside a workflow');
  let event: { repository?: { default_branch?: string } } = {};
  try {
    if (env.GITHUB_EVENT_PATH) event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
  } catch {
    event = {};
  }
  const serverUrl = env.GITHUB_SERVER_URL ?? 'https://github.com';
  return {
    owner,
    repo,
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    serverUrl,
    ...(env.GITHUB_RUN_ID
      ? { runUrl: `${serverUrl}/${owner}/${repo}/actions/runs/${env.GITHUB_RUN_ID}` }
      : {}),
    eventDefaultBranch: event.repository?.default_branch || 'main',
  };
}

/** The token input of an action that writes to GitHub; required unless it is a dry run. */
export function githubToken(dryRun: boolean): string {
  const token = text('github-token');
  if (!token && !dryRun) throw new Error('input github-token is required (an App token, or github.token)');
  return token;
}
