import { retry } from '../util/poll.ts';
import { retryAfterMs } from '../util/retry-after.ts';
import { sleep } from '../util/sleep.ts';
import type { GitHubClient } from './github-client.ts';

/**
 * GitHub's rate limits as its REST docs describe them ("Rate limits for the REST API", "Best practices for
 * using the REST API"): a 403 or 429 with `retry-after` says how many seconds to wait; one with
 * `x-ratelimit-remaining: 0` says to wait until `x-ratelimit-reset` (epoch seconds); a secondary limit without
 * either header asks for at least a minute. Anything else (a 403 for a missing permission, a 404, a 422) is not
 * retried here.
 */
export interface RateLimitOptions {
  /** Tries in all, the first included. Default 4. */
  attempts?: number;
  /** The longest single wait this run accepts; a longer one gives up at once with a clear error. Default 60 s. */
  maxWaitMs?: number;
}

interface ResponseLike {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined> };
}

export class GitHubRateLimitError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly original: unknown,
  ) {
    super(message);
    this.name = 'GitHubRateLimitError';
  }
}

/** How long GitHub asks to wait before the next try, or undefined when `error` is no rate limit. */
export function rateLimitWaitMs(error: unknown, now = Date.now()): number | undefined {
  const e = error as ResponseLike | null;
  if (e?.status !== 403 && e?.status !== 429) return undefined;
  const headers = e.response?.headers ?? {};
  const retryAfter = retryAfterMs(headers['retry-after']?.toString(), now);
  if (retryAfter !== undefined) return retryAfter;
  if (String(headers['x-ratelimit-remaining']) === '0') {
    const reset = Number(headers['x-ratelimit-reset']);
    return Number.isFinite(reset) ? Math.max(0, reset * 1000 - now) : 60_000;
  }
  if (e.status === 429 || /secondary rate limit/i.test(e.message ?? '')) return 60_000;
  return undefined;
}

const installed = new WeakSet<object>();

/**
 * Makes every request of `octokit` (REST, paginate and GraphQL alike) wait and try again where GitHub asks to,
 * within `attempts` and `maxWaitMs`; when it gives up the error says so (GitHubRateLimitError, with the status
 * kept). Installing it twice on one client is a no-op.
 */
export function withRateLimitRetries(octokit: GitHubClient, options: RateLimitOptions = {}): GitHubClient {
  if (installed.has(octokit)) return octokit;
  installed.add(octokit);
  const attempts = options.attempts ?? 4;
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  octokit.hook.wrap('request', async (request, endpoint) => {
    let waitMs = 0;
    const what = `${endpoint.method} ${String(endpoint.url)}`;
    try {
      return await retry(
        async () => {
          if (waitMs > 0) await sleep(waitMs);
          try {
            return await request(endpoint);
          } catch (error) {
            const asked = rateLimitWaitMs(error);
            if (asked !== undefined && asked > maxWaitMs)
              throw new GitHubRateLimitError(
                `GitHub rate limit on ${what}: it asks to wait ${Math.ceil(asked / 1000)} s, longer than the ${Math.round(maxWaitMs / 1000)} s this run waits; try again later`,
                (error as ResponseLike).status ?? 403,
                error,
              );
            waitMs = asked ?? 0;
            throw error;
          }
        },
        // The wait GitHub asked for happens before the next try; the backoff on top of it stays small.
        { attempts, baseMs: 50, capMs: 1000, retryable: (error) => rateLimitWaitMs(error) !== undefined },
      );
    } catch (error) {
      if (error instanceof GitHubRateLimitError || rateLimitWaitMs(error) === undefined) throw error;
      throw new GitHubRateLimitError(
        `GitHub rate limit on ${what}: still limited after ${attempts} tries (${(error as Error).message})`,
        (error as ResponseLike).status ?? 403,
        error,
      );
    }
  });
  return octokit;
}

/** The permission a 403 "Resource not accessible by integration" most likely lacks, for the error message. */
export function missingPermissionHint(error: unknown, needs: string): Error | undefined {
  const e = error as ResponseLike | null;
  if (e?.status !== 403 || !/Resource not accessible by integration/i.test(e.message ?? '')) return undefined;
  return Object.assign(
    new Error(
      `GitHub refused: the token lacks \`${needs}\` (add \`permissions: ${needs.replace(':', ': ')}\` to the job, or grant it to the GitHub App): ${e.message}`,
    ),
    { status: 403, cause: error },
  );
}
