import { execFile } from 'node:child_process';

/** Who commits the recorded rotations: GitHub's own Actions bot, so commits show its avatar and no person's. */
export const BOT_IDENTITY = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
};

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(
      `git ${args[0] ?? ''} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim().split('\n').at(-1) ?? ''}`,
    );
    this.name = 'GitError';
  }
}

export interface GitAuth {
  token: string;
  /** The server the token is for; the header is only ever sent there (default `https://github.com`). */
  serverUrl?: string;
}

/**
 * Configuration (through GIT_CONFIG_COUNT/KEY/VALUE, so it is in neither argv nor a file nor a URL) that makes
 * git send the token as HTTP basic auth to `serverUrl` only. The key is URL-scoped rather than a bare
 * `http.extraHeader` because git lets a URL-scoped key (actions/checkout persists one) win over a bare one;
 * the empty value first clears any header the checkout left behind, which would otherwise be sent twice.
 */
export function gitAuthEnvironment(auth: GitAuth): { env: Record<string, string>; secret: string } {
  const server = (auth.serverUrl ?? 'https://github.com').replace(/\/+$/, '');
  const key = `http.${server}/.extraheader`;
  const secret = Buffer.from(`x-access-token:${auth.token}`).toString('base64');
  return {
    secret,
    env: {
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: key,
      GIT_CONFIG_VALUE_0: '',
      GIT_CONFIG_KEY_1: key,
      GIT_CONFIG_VALUE_1: `AUTHORIZATION: basic ${secret}`,
    },
  };
}

export interface GitOptions {
  auth?: GitAuth;
  /** The whole environment git runs with (a worktree inherits its parent's, credentials included). */
  env?: NodeJS.ProcessEnv;
  /** Called with every value derived from the token (pass `core.setSecret` so the runner masks it). */
  onSecret?: (value: string) => void;
}

/** The real `git` CLI in one directory, run without a shell; output is returned, never printed. */
export class Git {
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly dir: string,
    options: GitOptions = {},
  ) {
    if (options.env) {
      this.env = options.env;
      return;
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '',
      LC_ALL: 'C',
      GIT_AUTHOR_NAME: BOT_IDENTITY.name,
      GIT_AUTHOR_EMAIL: BOT_IDENTITY.email,
      GIT_COMMITTER_NAME: BOT_IDENTITY.name,
      GIT_COMMITTER_EMAIL: BOT_IDENTITY.email,
    };
    if (options.auth) {
      const { env: authEnv, secret } = gitAuthEnvironment(options.auth);
      options.onSecret?.(options.auth.token);
      options.onSecret?.(secret);
      Object.assign(env, authEnv);
    }
    this.env = env;
  }

  /** Runs git with `args`; resolves with stdout, rejects with a GitError carrying stderr. */
  run(
    args: string[],
    options: { allowExitCodes?: number[] } = {},
  ): Promise<{ stdout: string; code: number }> {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        args,
        { cwd: this.dir, env: this.env, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (!error) return resolve({ stdout, code: 0 });
          const code = typeof error.code === 'number' ? error.code : null;
          if (code !== null && options.allowExitCodes?.includes(code)) return resolve({ stdout, code });
          reject(new GitError(args, code, stderr));
        },
      );
    });
  }

  async output(args: string[]): Promise<string> {
    return (await this.run(args)).stdout;
  }

  /** The commit a ref names, or undefined when there is no such ref. */
  async revParse(ref: string): Promise<string | undefined> {
    const { stdout, code } = await this.run(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
      allowExitCodes: [1],
    });
    return code === 0 ? stdout.trim() : undefined;
  }

  /** The tip of a branch on a remote as the remote has it now, or undefined when the branch does not exist. */
  async remoteBranchSha(remote: string, branch: string): Promise<string | undefined> {
    const out = await this.output(['ls-remote', '--heads', remote, `refs/heads/${branch}`]);
    const line = out.split('\n').find((l) => l.endsWith(`\trefs/heads/${branch}`));
    return line?.split('\t')[0];
  }

  /** Fetches branches into `refs/remotes/<remote>/<branch>`, overwriting what was there. */
  async fetch(remote: string, branches: string[]): Promise<void> {
    const refspecs = branches.map((b) => `+refs/heads/${b}:refs/remotes/${remote}/${b}`);
    await this.run(['fetch', '--no-tags', '--quiet', remote, ...refspecs]);
  }

  /** Paths (relative, forward slashes) that differ from HEAD in the work tree, untracked files included. */
  async changedPaths(): Promise<string[]> {
    const out = await this.output(['status', '--porcelain=v1', '-z', '--untracked-files=all']);
    const paths: string[] = [];
    const entries = out.split('\0');
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.length < 4) continue;
      paths.push(entry.slice(3));
      // A rename or copy is followed by its source path, which is not a change of its own.
      if (entry[0] === 'R' || entry[0] === 'C') i++;
    }
    return paths.sort();
  }

  /** Stages exactly `paths` and commits them as the bot; returns the new commit, or undefined if nothing was staged. */
  async commit(paths: string[], message: string): Promise<string | undefined> {
    if (paths.length === 0) return undefined;
    await this.run(['add', '--all', '--', ...paths]);
    const { code } = await this.run(['diff', '--cached', '--quiet'], { allowExitCodes: [1] });
    if (code === 0) return undefined;
    await this.run(['-c', 'commit.gpgsign=false', 'commit', '--quiet', '--no-verify', '--message', message]);
    return this.revParse('HEAD');
  }

  /** A second, detached work tree of this repository at `commit` (it shares the object store, so no clone). */
  async addWorktree(path: string, commit: string): Promise<Git> {
    await this.run(['worktree', 'add', '--detach', '--quiet', path, commit]);
    return new Git(path, { env: this.env });
  }

  async removeWorktree(path: string): Promise<void> {
    await this.run(['worktree', 'remove', '--force', path]);
  }

  /** Whether two tree-ish refs hold exactly the same files. */
  async sameTree(a: string, b: string): Promise<boolean> {
    const [ta, tb] = await Promise.all([
      this.output(['rev-parse', `${a}^{tree}`]),
      this.output(['rev-parse', `${b}^{tree}`]),
    ]);
    return ta.trim() === tb.trim();
  }

  /**
   * Pushes `source` to `refs/heads/<branch>` only if the remote branch is still at `expected` (or, with
   * `expected` undefined, does not exist yet): a concurrent writer makes the push fail instead of being lost.
   */
  async pushWithLease(
    remote: string,
    source: string,
    branch: string,
    expected: string | undefined,
  ): Promise<void> {
    const ref = `refs/heads/${branch}`;
    try {
      await this.run([
        'push',
        '--quiet',
        '--no-verify',
        `--force-with-lease=${ref}:${expected ?? ''}`,
        remote,
        `${source}:${ref}`,
      ]);
    } catch (error) {
      throw workflowPushRefusal(error, branch) ?? pushPermissionRefusal(error, branch) ?? error;
    }
  }
}

/**
 * GitHub answers a push by a token without `contents: write` with 403 and "Permission to <owner>/<repo>.git denied
 * to <login>." (git prints it as a `remote:` line): the repository's default workflow permissions are read-only
 * unless the job's `permissions:` asks for more.
 */
export function pushPermissionRefusal(error: unknown, branch: string): GitError | undefined {
  if (!(error instanceof GitError)) return undefined;
  const denied = /Permission to (\S+?) denied to ([^\s.]+(?:\[bot\])?)/.exec(error.stderr);
  if (!denied && !/The requested URL returned error: 403/.test(error.stderr)) return undefined;
  const refusal = new GitError(error.args, error.exitCode, error.stderr);
  refusal.message = `GitHub refused the push to ${branch} (403${denied ? `: permission to ${denied[1]} denied to ${denied[2]}` : ''}): the token cannot write the repository's contents. Give the job \`permissions: contents: write\` (a job without \`permissions:\` gets the repository's default, read-only since 2023), or use a GitHub App token with "Contents: read and write".`;
  return refusal;
}

const WORKFLOWS_REFUSAL =
  /refusing to allow an? (?:GitHub App|OAuth App)[^\n]*workflow `([^`]+)`[^\n]*without `workflows?` (?:permission|scope)/;

/**
 * GitHub refuses a push by a token without the `workflows` permission when it would create or update a file
 * under `.github/workflows/`: the error names the file and what to change, the git stderr is kept.
 */
export function workflowPushRefusal(error: unknown, branch: string): GitError | undefined {
  if (!(error instanceof GitError)) return undefined;
  const file = WORKFLOWS_REFUSAL.exec(error.stderr)?.[1];
  if (!file) return undefined;
  const refusal = new GitError(error.args, error.exitCode, error.stderr);
  refusal.message = `GitHub refused the push to ${branch}: it would create or update the workflow ${file} and the token has no \`workflows\` permission. The branch is rebuilt on the newest default branch, so this means the pushed commits change ${file} or the default branch moved during the run; only a GitHub App granted "Workflows: read and write" may push that (a workflow's GITHUB_TOKEN never can).`;
  return refusal;
}
