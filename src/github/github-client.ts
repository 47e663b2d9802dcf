import { getOctokit } from '@actions/github';
import { proxyAwareFetch } from '../net/fetch.ts';

/** The Octokit client the report, sync and notification code talk to GitHub through (REST and GraphQL). */
export type GitHubClient = ReturnType<typeof getOctokit>;

/**
 * An Octokit for `baseUrl` whose requests go through the proxy the environment names (src/net/proxy.ts): the same
 * reading as every other client, where @actions/github's own always exempts loopback and reads only process.env.
 */
export function githubClient(
  token: string,
  baseUrl: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): GitHubClient {
  return getOctokit(token, {
    ...(baseUrl ? { baseUrl } : {}),
    request: { fetch: proxyAwareFetch(env) },
  });
}
