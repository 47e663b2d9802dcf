import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { StandInOutcome, StandInStep } from './stand-ins.ts';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
/** A fetch from the emulator, which answers in this process: never block the event loop on it. */
const gitAsync = promisify(execFile);

/** What to fetch and check out, as actions/checkout v4.2.2 decides it (src/input-helper.ts, src/ref-helper.ts). */
interface CheckoutTarget {
  ref: string;
  commit: string;
}

/**
 * `ref:` empty: the workflow's own GITHUB_REF and GITHUB_SHA (for a pull request refs/pull/<n>/merge and its merge
 * commit); a 40-hex `ref:` is a commit alone; anything else is the ref as given.
 */
function targetOf(ref: string, env: Record<string, string>): CheckoutTarget {
  if (!ref) return { ref: env.GITHUB_REF ?? 'refs/heads/main', commit: env.GITHUB_SHA ?? '' };
  if (/^[0-9a-fA-F]{40}$/.test(ref)) return { ref: '', commit: ref };
  return { ref, commit: '' };
}

/** ref-helper.ts getRefSpec / getRefSpecForAllHistory, for the refs the lab's workflows use. */
function refSpecs({ ref, commit }: CheckoutTarget, allHistory: boolean): string[] {
  const upper = ref.toUpperCase();
  const pull = upper.startsWith('REFS/PULL/') ? `refs/remotes/pull/${ref.slice('refs/pull/'.length)}` : '';
  if (allHistory) {
    const all = ['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'];
    if (pull) all.push(`+${commit || ref}:${pull}`);
    else if (commit && !ref) all.push(commit);
    return all;
  }
  const branch = upper.startsWith('REFS/HEADS/') ? ref.slice('refs/heads/'.length) : '';
  if (commit) {
    if (branch) return [`+${commit}:refs/remotes/origin/${branch}`];
    if (pull) return [`+${commit}:${pull}`];
    if (upper.startsWith('REFS/TAGS/')) return [`+${commit}:${ref}`];
    return [commit];
  }
  if (!upper.startsWith('REFS/'))
    return [`+refs/heads/${ref}*:refs/remotes/origin/${ref}*`, `+refs/tags/${ref}*:refs/tags/${ref}*`];
  if (branch) return [`+${ref}:refs/remotes/origin/${branch}`];
  if (pull) return [`+${ref}:${pull}`];
  return [`+${ref}:${ref}`];
}

/** ref-helper.ts getCheckoutInfo: a branch is checked out as a local branch, anything else detached. */
function checkoutArgs({ ref, commit }: CheckoutTarget, into: string): string[] {
  const upper = ref.toUpperCase();
  if (!ref) return ['checkout', '--quiet', '--force', commit];
  if (upper.startsWith('REFS/HEADS/')) {
    const branch = ref.slice('refs/heads/'.length);
    return ['checkout', '--quiet', '--force', '-B', branch, `refs/remotes/origin/${branch}`];
  }
  if (upper.startsWith('REFS/PULL/'))
    return ['checkout', '--quiet', '--force', `refs/remotes/pull/${ref.slice('refs/pull/'.length)}`];
  if (upper.startsWith('REFS/')) return ['checkout', '--quiet', '--force', commit || ref];
  const isBranch = git(into, 'branch', '--list', '--remotes', `origin/${ref}`) !== '';
  if (isBranch) return ['checkout', '--quiet', '--force', '-B', ref, `refs/remotes/origin/${ref}`];
  if (git(into, 'tag', '--list', ref) !== '') return ['checkout', '--quiet', '--force', `refs/tags/${ref}`];
  throw new Error(`A branch or tag with the name '${ref}' could not be found`);
}

/**
 * actions/checkout v4.2.2 against the lab origin: `path` under the workspace ("Repository path '…' is not under
 * '…'"), `git init`, origin, a fetch of the target (`fetch-depth: 0`: every branch and tag as well, and no
 * `--depth`; else `--depth=<n>` of the target only), then a branch or a detached checkout. For a pull request that
 * is refs/pull/<n>/merge at its merge commit, as GitHub checks it out by default. `persist-credentials: true` (the
 * default) leaves `http.<server>/.extraheader: AUTHORIZATION: basic <base64 x-access-token:token>` in the
 * repository's config (src/git-auth-helper.ts); `false` leaves no credential behind. Outputs `ref` and `commit`.
 */
export async function checkoutRepository({
  inputs,
  workspace,
  lab,
  processEnv,
}: StandInStep): Promise<StandInOutcome> {
  const into = resolve(workspace, inputs.path || '.');
  if (relative(workspace, into).startsWith('..'))
    return { ok: false, message: `Repository path '${into}' is not under '${workspace}'` };
  mkdirSync(into, { recursive: true });
  if (readdirSync(into).length > 0) return { ok: false, message: `checkout: ${into} is not empty` };
  const target = targetOf(inputs.ref ?? '', processEnv);
  const depth = Number(inputs['fetch-depth'] || '1');
  try {
    git(into, 'init', '--quiet');
    git(into, 'remote', 'add', 'origin', lab.cloneUrl ?? `file://${lab.origin}`);
    const depthArgs = depth > 0 ? [`--depth=${depth}`] : [];
    const tags = depth === 0 || inputs['fetch-tags'] === 'true' ? [] : ['--no-tags'];
    // checkout authenticates its fetch with the `token` input (default github.token), as basic auth.
    const auth = lab.cloneUrl
      ? [
          '-c',
          `http.${new URL(lab.cloneUrl).origin}/.extraheader=AUTHORIZATION: basic ${Buffer.from(`x-access-token:${inputs.token ?? ''}`).toString('base64')}`,
        ]
      : [];
    await gitAsync(
      'git',
      [
        ...auth,
        'fetch',
        '--quiet',
        ...tags,
        '--prune',
        ...depthArgs,
        'origin',
        ...refSpecs(target, depth === 0),
      ],
      { cwd: into },
    );
    git(into, ...checkoutArgs(target, into));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    return { ok: false, message: `checkout: ${stderr || (error as Error).message}` };
  }
  if (inputs['persist-credentials'] === 'true') {
    const server = new URL(
      inputs['github-server-url'] || processEnv.GITHUB_SERVER_URL || 'https://github.com',
    );
    const basic = Buffer.from(`x-access-token:${inputs.token ?? ''}`, 'utf8').toString('base64');
    git(into, 'config', '--local', `http.${server.origin}/.extraheader`, `AUTHORIZATION: basic ${basic}`);
  }
  return {
    ok: true,
    outputs: { ref: target.ref, commit: git(into, 'rev-parse', 'HEAD') },
  };
}
