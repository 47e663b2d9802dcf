import { execFileSync } from 'node:child_process';
import { WorkflowError } from './expressions.ts';

const git = (gitDir: string, ...args: string[]) =>
  execFileSync(
    'git',
    ['-c', 'user.name=GitHub', '-c', 'user.email=noreply@github.com', '--git-dir', gitDir, ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  ).trim();

export interface PullRequestOptions {
  /** The bare repository standing in for GitHub's copy (the lab origin). */
  origin: string;
  repository: string;
  number: number;
  /** The branch the pull request merges into (default `main`) and the branch it comes from. */
  base?: string;
  head: string;
  title?: string;
  /** `opened` (default), `synchronize`, `reopened`. */
  action?: string;
  sender?: string;
}

export interface PullRequestEvent {
  event: { name: 'pull_request'; payload: Record<string, unknown> };
  /** GITHUB_REF of the run: `refs/pull/<number>/merge`. */
  ref: string;
  /** GITHUB_SHA of the run: the merge commit GitHub made for the pull request. */
  sha: string;
}

/**
 * A pull request as GitHub opens it on the lab origin: `refs/pull/<n>/head` at the head branch's commit and
 * `refs/pull/<n>/merge`, the test merge of head into base (a commit whose parents are base then head), and the
 * `pull_request` event GitHub sends (docs.github.com/en/webhooks/webhook-events-and-payloads#pull_request: `number`,
 * `pull_request.{number,title,merge_commit_sha,base,head}`, `repository`, `sender`). The run's GITHUB_REF is the
 * merge ref and GITHUB_SHA its commit (docs.github.com/en/actions/reference/workflows-and-actions/
 * events-that-trigger-workflows#pull_request). A head that does not merge cleanly is refused: GitHub makes no merge
 * ref then and runs no pull_request workflow.
 */
export function openPullRequest(options: PullRequestOptions): PullRequestEvent {
  const { origin, number } = options;
  const base = options.base ?? 'main';
  const baseSha = git(origin, 'rev-parse', `refs/heads/${base}^{commit}`);
  const headSha = git(origin, 'rev-parse', `refs/heads/${options.head}^{commit}`);
  let tree: string;
  try {
    tree = git(origin, 'merge-tree', '--write-tree', baseSha, headSha).split('\n')[0]!;
  } catch (error) {
    throw new WorkflowError(
      `pull request #${number}: ${options.head} does not merge cleanly into ${base}: ${(error as { stdout?: string }).stdout ?? ''}`,
    );
  }
  const mergeSha = git(
    origin,
    'commit-tree',
    tree,
    '-p',
    baseSha,
    '-p',
    headSha,
    '-m',
    `Merge ${headSha} into ${baseSha}`,
  );
  git(origin, 'update-ref', `refs/pull/${number}/head`, headSha);
  git(origin, 'update-ref', `refs/pull/${number}/merge`, mergeSha);
  const [owner, name] = options.repository.split('/');
  const repository = {
    name,
    full_name: options.repository,
    owner: { login: owner },
    default_branch: 'main',
  };
  const sender = { login: options.sender ?? 'octocat', type: 'User' };
  const side = (ref: string, sha: string) => ({
    label: `${owner}:${ref}`,
    ref,
    sha,
    repo: repository,
    user: { login: owner },
  });
  return {
    event: {
      name: 'pull_request',
      payload: {
        action: options.action ?? 'opened',
        number,
        pull_request: {
          number,
          state: 'open',
          title: options.title ?? options.head,
          user: sender,
          merge_commit_sha: mergeSha,
          base: side(base, baseSha),
          head: side(options.head, headSha),
        },
        repository,
        sender,
      },
    },
    ref: `refs/pull/${number}/merge`,
    sha: mergeSha,
  };
}

interface PullRequestPayload {
  pull_request?: { merge_commit_sha?: string; base?: { ref?: string }; head?: { ref?: string } };
}

/**
 * The default variables that come from the event (docs.github.com/en/actions/reference/workflows-and-actions/
 * variables#default-environment-variables): GITHUB_SHA (for a pull request, its merge commit; else the commit
 * GITHUB_REF names on the origin), GITHUB_BASE_REF / GITHUB_HEAD_REF (pull requests only, else empty) and, for a
 * pull request, GITHUB_REF_NAME `<number>/merge`.
 */
export function eventEnvironment(
  eventName: string,
  event: unknown,
  ref: string,
  origin: string,
): Record<string, string> {
  const pr = (event as PullRequestPayload | undefined)?.pull_request;
  const isPullRequest = eventName === 'pull_request' || eventName === 'pull_request_target';
  if (isPullRequest && pr)
    return {
      GITHUB_SHA: pr.merge_commit_sha ?? '',
      GITHUB_BASE_REF: pr.base?.ref ?? '',
      GITHUB_HEAD_REF: pr.head?.ref ?? '',
      GITHUB_REF_NAME: ref.replace(/^refs\/pull\//, ''),
      GITHUB_REF_TYPE: 'branch',
    };
  let sha = '';
  try {
    sha = git(origin, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  } catch {
    // A ref the origin does not hold (a unit test's made-up origin): GITHUB_SHA stays empty.
  }
  return {
    GITHUB_SHA: sha,
    GITHUB_BASE_REF: '',
    GITHUB_HEAD_REF: '',
    GITHUB_REF_TYPE: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
  };
}
