import type { getOctokit } from '@actions/github';

/** The Octokit client the report, sync and notification code talk to GitHub through (REST and GraphQL). */
export type GitHubClient = ReturnType<typeof getOctokit>;
